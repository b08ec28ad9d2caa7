using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Broker.Core.Protocol;

namespace Broker.Core.Routing;

/// <summary>
/// An application message as the broker stores and routes it: immutable while shared by every delivery and queue.
/// Topic, forwardable v5 properties and payload live in one array because the read buffer they came from is released
/// after decoding.
/// </summary>
/// <remarks>
/// <para>
/// A message built with a public constructor (embedders, the management API, wills, $SYS, retained and delayed copies)
/// is <em>unpooled</em>: the garbage collector owns it, and <see cref="AddRef()"/> / <see cref="Release"/> do nothing.
/// </para>
/// <para>
/// A PUBLISH from a client becomes a <em>pooled</em> message (<see cref="MessagePool.Rent"/>): object and buffer are
/// reused, so steady-state publishing allocates nothing. Its lifetime is a reference count, and these rules hold:
/// </para>
/// <list type="number">
/// <item>The read loop that rents it holds the first reference and hands it to routing (<c>PublishFromClient</c>,
/// <c>PublishInternal</c>, <see cref="Router.Route"/> take it over); it does not touch the message afterwards.</item>
/// <item>Every delivery owns one reference: <see cref="Router.Route"/> turns the caller's into the first and adds the
/// rest in one step, and <see cref="Sessions.Session.Deliver"/> consumes it (an outbound queue item, an inflight entry or
/// a session queue entry then owns it); an inflight entry's PUBLISH item takes one more for the outbound queue, since
/// the entry stays for a resend. The owner releases when it drops the entry: the writer after encoding (or the
/// connection's close for what it never took), the session on acknowledgement, expiry, queue overflow or termination; a
/// shared-subscription orphan passes its reference on to the member it is redispatched to.</item>
/// <item>Long-lived holders (retained store, <c>$delayed</c>) never hold a pooled message: they keep an unpooled copy
/// (<see cref="ToUnpooled"/>, <see cref="With"/>).</item>
/// <item>The last <see cref="Release"/> returns object and buffer to the pool. Reading a message after releasing one's
/// reference is a use-after-free that corrupts another client's message: take the reference before handing the message
/// to anything that may outlive the current call.</item>
/// </list>
/// <para>
/// A missing release is benign (the message is simply collected instead of reused); a release too many is not, so
/// <see cref="AddRef()"/> on a released message and a release below zero throw, and the pool can poison returned
/// buffers (<see cref="MessagePool.PoisonReleased"/>, on in DEBUG builds and in the tests) so that a read after release
/// shows up as wrong bytes.
/// </para>
/// </remarks>
public sealed class Message
{
    private readonly MessagePool? _pool;
    private byte[] _buffer;
    private int _length;
    private int _topicLength;
    private int _propertiesLength;
    private string? _topic;
    private QualityOfService _qos;
    private bool _retain;
    private string? _publisherClientId;
    private string? _publisherUserName;
    private object? _publisher;
    private long _expiresAt;
    private long _timestamp;
    private bool _isSystem;
    private bool _fromRule;
    private PaddedCount _references;

    /// <summary>Builds a message from spans; the bytes are copied.</summary>
    public Message(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload, QualityOfService qos, bool retain, ReadOnlySpan<byte> properties = default)
    {
        _buffer = GC.AllocateUninitializedArray<byte>(topic.Length + properties.Length + payload.Length);
        topic.CopyTo(_buffer);
        properties.CopyTo(_buffer.AsSpan(topic.Length));
        payload.CopyTo(_buffer.AsSpan(topic.Length + properties.Length));
        _length = _buffer.Length;
        _topicLength = topic.Length;
        _propertiesLength = properties.Length;
        _qos = qos;
        _retain = retain;
    }

    /// <summary>An empty pooled message owning <paramref name="buffer"/>; <see cref="MessagePool"/> alone makes these.</summary>
    internal Message(MessagePool pool, byte[] buffer)
    {
        _pool = pool;
        _buffer = buffer;
    }

    /// <summary>An unpooled copy with another topic, QoS or retain flag (delayed publish).</summary>
    public Message With(ReadOnlySpan<byte> topic, QualityOfService qos, bool retain)
        => new(topic, Payload, qos, retain, Properties)
        {
            PublisherClientId = PublisherClientId,
            PublisherUserName = PublisherUserName,
            Publisher = Publisher,
            ExpiresAt = ExpiresAt,
            Timestamp = Timestamp,
            IsSystem = IsSystem,
        };

    /// <summary>An unpooled copy with another expiry (a restored message: its stored expiry in this process's clock).</summary>
    internal Message WithExpiresAt(long expiresAt)
        => new(TopicBytes, Payload, QoS, Retain, Properties)
        {
            PublisherClientId = PublisherClientId,
            PublisherUserName = PublisherUserName,
            ExpiresAt = expiresAt,
            Timestamp = Timestamp,
            IsSystem = IsSystem,
        };

    /// <summary>
    /// A message that may be held for any time: the same unpooled message when it has no publisher, else an unpooled copy
    /// without the reference to the publishing session (a retained message must not keep an ended session alive) and,
    /// for a pooled message, with its own buffer.
    /// </summary>
    internal Message ToUnpooled()
    {
        if (_pool is null && _publisher is null)
        {
            return this;
        }

        byte[] buffer = _pool is null ? _buffer : _buffer.AsSpan(0, _length).ToArray();
        return new Message(buffer, _length, _topicLength, _propertiesLength, _qos, _retain)
        {
            PublisherClientId = PublisherClientId,
            PublisherUserName = PublisherUserName,
            ExpiresAt = ExpiresAt,
            Timestamp = Timestamp,
            IsSystem = IsSystem,
            _topic = _topic,
        };
    }

    /// <summary>An unpooled message taking ownership of <paramref name="buffer"/>, laid out as topic, properties, payload.</summary>
    internal Message(byte[] buffer, int length, int topicLength, int propertiesLength, QualityOfService qos, bool retain)
    {
        _buffer = buffer;
        _length = length;
        _topicLength = topicLength;
        _propertiesLength = propertiesLength;
        _qos = qos;
        _retain = retain;
    }

    /// <summary>UTF-8 topic name.</summary>
    public ReadOnlySpan<byte> TopicBytes => _buffer.AsSpan(0, _topicLength);

    /// <summary>The topic as a string, created on first use (management API, retained store key, logs).</summary>
    public string Topic => _topic ??= Encoding.UTF8.GetString(TopicBytes);

    /// <summary>Forwardable v5 properties, encoded (payload format, content type, response topic, correlation data, user properties).</summary>
    public ReadOnlySpan<byte> Properties => _buffer.AsSpan(_topicLength, _propertiesLength);

    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_topicLength + _propertiesLength, PayloadLength);

    public ReadOnlyMemory<byte> PayloadMemory => _buffer.AsMemory(_topicLength + _propertiesLength, PayloadLength);

    public int PayloadLength => _length - _topicLength - _propertiesLength;

    /// <summary>Topic, properties and payload bytes: what a queued delivery holds on to.</summary>
    internal int Length => _length;

    public QualityOfService QoS => _qos;

    public bool Retain => _retain;

    /// <summary>Client id of the publisher; null for messages the broker makes itself ($SYS, API without client id).</summary>
    public string? PublisherClientId { get => _publisherClientId; init => _publisherClientId = value; }

    public string? PublisherUserName { get => _publisherUserName; init => _publisherUserName = value; }

    /// <summary>The publisher's session, for No Local [MQTT-3.8.3-3].</summary>
    internal object? Publisher { get => _publisher; init => _publisher = value; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> after which the message is dropped; 0 for never.</summary>
    public long ExpiresAt { get => _expiresAt; init => _expiresAt = value; }

    /// <summary>Unix milliseconds when the broker received it.</summary>
    public long Timestamp { get => _timestamp; init => _timestamp = value; }

    /// <summary>Made by the broker ($SYS); not counted as a client publish.</summary>
    public bool IsSystem { get => _isSystem; init => _isSystem = value; }

    /// <summary>Published by a rule's republish action: rules do not run on it again (no rule can feed itself).</summary>
    internal bool FromRule { get => _fromRule; init => _fromRule = value; }

    public bool IsExpired(long now) => _expiresAt != 0 && now >= _expiresAt;

    /// <summary>Whether the message comes from a pool and is reference counted.</summary>
    internal bool IsPooled => _pool is not null;

    /// <summary>References held on a pooled message (0 once back in the pool); for tests and assertions.</summary>
    internal int References => Volatile.Read(ref _references.Value);

    /// <summary>Capacity of the buffer: a pooled message's size class.</summary>
    internal int Capacity => _buffer.Length;

    /// <summary>The pooled buffer to fill between <see cref="MessagePool.Rent"/> and <see cref="Initialize"/>.</summary>
    internal Span<byte> WritableBuffer => _buffer.AsSpan(0, _length);

    /// <summary>Overwrites the whole buffer (<see cref="MessagePool.PoisonReleased"/>).</summary>
    internal void Poison(byte value) => _buffer.AsSpan().Fill(value);

    /// <summary>Takes one more reference. No-op for an unpooled message.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddRef()
    {
        if (_pool is not null && Interlocked.Increment(ref _references.Value) <= 1)
        {
            MessagePool.ThrowUseAfterRelease();
        }
    }

    /// <summary>Takes <paramref name="count"/> more references at once (one interlocked add for a whole fan-out).</summary>
    internal void AddRef(int count)
    {
        if (_pool is not null && count > 0 && Interlocked.Add(ref _references.Value, count) <= count)
        {
            MessagePool.ThrowUseAfterRelease();
        }
    }

    /// <summary>Drops one reference; the last returns the message to its pool. No-op for an unpooled message.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Release()
    {
        if (_pool is not null)
        {
            int left = Interlocked.Decrement(ref _references.Value);
            if (left <= 0)
            {
                ReleaseLast(left);
            }
        }
    }

    private void ReleaseLast(int left)
    {
        if (left < 0)
        {
            MessagePool.ThrowUseAfterRelease();
        }

        _publisher = null;
        _publisherClientId = null;
        _publisherUserName = null;
        _topic = null;
        _pool!.Return(this);
    }

    /// <summary>Called by the pool on rent: one reference (the renter's), <paramref name="length"/> bytes in use.</summary>
    internal void OnRent(int length)
    {
        _length = length;
        _topicLength = 0;
        _propertiesLength = 0;
        Volatile.Write(ref _references.Value, 1);
    }

    /// <summary>Sets what <see cref="MessagePool.Rent"/> left blank, once the buffer is filled.</summary>
    internal void Initialize(
        int topicLength, int propertiesLength, QualityOfService qos, bool retain,
        string? publisherClientId, string? publisherUserName, object? publisher, long expiresAt, long timestamp)
    {
        _topicLength = topicLength;
        _propertiesLength = propertiesLength;
        _qos = qos;
        _retain = retain;
        _publisherClientId = publisherClientId;
        _publisherUserName = publisherUserName;
        _publisher = publisher;
        _expiresAt = expiresAt;
        _timestamp = timestamp;
        _isSystem = false;
    }

    /// <summary>
    /// The reference count, 64 bytes clear of every other field: each of a fan-out's writers decrements it, and on the
    /// line the writers read the topic and payload fields from, every decrement would make the other core miss them.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedCount
    {
        [FieldOffset(64)]
        public int Value;
    }
}
