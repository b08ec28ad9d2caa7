using System.Text;
using Broker.Core.Protocol;

namespace Broker.Core.Routing;

/// <summary>
/// An application message as the broker stores and routes it: immutable once built and shared by every
/// delivery, queue and the retained store. Topic, forwardable v5 properties and payload live in one array
/// (one allocation besides the object) because the read buffer they came from is released after decoding.
/// </summary>
public sealed class Message
{
    private readonly byte[] _buffer;
    private readonly int _topicLength;
    private readonly int _propertiesLength;
    private string? _topic;

    /// <summary>Builds a message from spans; the bytes are copied.</summary>
    public Message(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload, QualityOfService qos, bool retain, ReadOnlySpan<byte> properties = default)
    {
        _buffer = GC.AllocateUninitializedArray<byte>(topic.Length + properties.Length + payload.Length);
        topic.CopyTo(_buffer);
        properties.CopyTo(_buffer.AsSpan(topic.Length));
        payload.CopyTo(_buffer.AsSpan(topic.Length + properties.Length));
        _topicLength = topic.Length;
        _propertiesLength = properties.Length;
        QoS = qos;
        Retain = retain;
    }

    /// <summary>Takes ownership of <paramref name="buffer"/>, laid out as topic, properties, payload.</summary>
    internal Message(byte[] buffer, int topicLength, int propertiesLength, QualityOfService qos, bool retain)
    {
        _buffer = buffer;
        _topicLength = topicLength;
        _propertiesLength = propertiesLength;
        QoS = qos;
        Retain = retain;
    }

    /// <summary>A copy with another topic, QoS or retain flag (delayed publish, retained re-delivery).</summary>
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

    /// <summary>
    /// The same message (buffer shared) without the reference to the publishing session, for what outlives routing,
    /// such as the retained store: a retained message must not keep an ended session alive.
    /// </summary>
    internal Message WithoutPublisher() => Publisher is null
        ? this
        : new(_buffer, _topicLength, _propertiesLength, QoS, Retain)
        {
            PublisherClientId = PublisherClientId,
            PublisherUserName = PublisherUserName,
            ExpiresAt = ExpiresAt,
            Timestamp = Timestamp,
            IsSystem = IsSystem,
            _topic = _topic,
        };

    /// <summary>UTF-8 topic name.</summary>
    public ReadOnlySpan<byte> TopicBytes => _buffer.AsSpan(0, _topicLength);

    /// <summary>The topic as a string, created on first use (management API, retained store key, logs).</summary>
    public string Topic => _topic ??= Encoding.UTF8.GetString(TopicBytes);

    /// <summary>Forwardable v5 properties, encoded (payload format, content type, response topic, correlation data, user properties).</summary>
    public ReadOnlySpan<byte> Properties => _buffer.AsSpan(_topicLength, _propertiesLength);

    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_topicLength + _propertiesLength);

    public ReadOnlyMemory<byte> PayloadMemory => _buffer.AsMemory(_topicLength + _propertiesLength);

    public int PayloadLength => _buffer.Length - _topicLength - _propertiesLength;

    public QualityOfService QoS { get; }

    public bool Retain { get; }

    /// <summary>Client id of the publisher; null for messages the broker makes itself ($SYS, API without client id).</summary>
    public string? PublisherClientId { get; init; }

    public string? PublisherUserName { get; init; }

    /// <summary>The publisher's session, for No Local [MQTT-3.8.3-3].</summary>
    internal object? Publisher { get; init; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> after which the message is dropped; 0 for never.</summary>
    public long ExpiresAt { get; init; }

    /// <summary>Unix milliseconds when the broker received it.</summary>
    public long Timestamp { get; init; }

    /// <summary>Made by the broker ($SYS); not counted as a client publish.</summary>
    public bool IsSystem { get; init; }

    public bool IsExpired(long now) => ExpiresAt != 0 && now >= ExpiresAt;
}
