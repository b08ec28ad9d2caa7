using System.Runtime.InteropServices;
using Broker.Core.Protocol;
using Broker.Core.Routing;

namespace Broker.Core.Connections;

/// <summary>What the writer writes next.</summary>
internal enum OutboundKind : byte
{
    Publish,
    /// <summary>PUBACK, PUBREC, PUBREL or PUBCOMP: <see cref="OutboundItem.PacketType"/> says which.</summary>
    Ack,
    PingResp,
    /// <summary>Bytes encoded by the caller (CONNACK, SUBACK, UNSUBACK, DISCONNECT, AUTH): rare packets.</summary>
    Encoded,
}

/// <summary>One queued packet. A struct in a list that is swapped, not allocated, per batch.</summary>
internal readonly struct OutboundItem
{
    public OutboundKind Kind { get; init; }

    public PacketType PacketType { get; init; }

    public QualityOfService QoS { get; init; }

    public bool Dup { get; init; }

    public bool Retain { get; init; }

    public ushort PacketIdentifier { get; init; }

    public ReasonCode ReasonCode { get; init; }

    /// <summary>For <see cref="OutboundKind.Publish"/>: the item owns one reference, released once written or dropped.</summary>
    public Message? Message { get; init; }

    public int[]? SubscriptionIdentifiers { get; init; }

    public byte[]? Encoded { get; init; }

    /// <summary>The counter to increment when this packet is written (for <see cref="OutboundKind.Encoded"/>).</summary>
    public Metrics.CounterId SentCounter { get; init; }
}

/// <summary>
/// The only way into a connection's output: producers (any thread) append under a short lock, the writer swaps the
/// whole list out and encodes it with one flush per batch. Double buffering keeps it allocation-free in steady state.
/// </summary>
/// <remarks>
/// The writer is not a loop parked on a signal: an idle connection has no writer at all. The first item queued while
/// the writer is idle schedules it (<see cref="IThreadPoolWorkItem"/>, or deferred to the end of the current read batch
/// by <see cref="SignalBatch"/>), and it runs until the queue is empty (<see cref="TryTakeAll"/> returns false and marks
/// it idle under the same lock the producers take, so no wake-up is lost).
///
/// The queue is its own lock (an object nobody outside locks on): a <see cref="Lock"/> would be 40 more bytes per
/// connection, for the same uncontended cost.
/// </remarks>
internal sealed class OutboundQueue
{
    private const int WriterStateIdle = 0;
    private const int WriterStateScheduled = 1;
    private const int WriterStateEnded = 2;

    private readonly IThreadPoolWorkItem _writer;
    private int _writerState;
    // None until used, and none again after the CONNACK's batch: an idle connection holds no list. A connection that
    // sends more gets two, which alternate and grow to the largest batch.
    private List<OutboundItem>? _pending;
    private List<OutboundItem>? _spare;
    private int _pendingQoS0;
    private long _pendingQoS0Bytes;
    private bool _completed;
    private bool _firstBatchRecycled;

    /// <summary>QoS 0 publishes waiting before publishers to this connection are held back (its <see cref="CongestionGate"/> closes).</summary>
    internal const int QoS0HighWater = 8192;

    private readonly object _owner;

    // Created the first time the queue passes its high-water mark: most connections never do.
    private CongestionGate? _gate;

    /// <param name="owner">The connection, for <see cref="CongestionGate.Owner"/>.</param>
    /// <param name="writer">Drains the queue when scheduled: calls <see cref="TryTakeAll"/> until it returns false.</param>
    public OutboundQueue(object owner, IThreadPoolWorkItem writer)
    {
        _owner = owner;
        _writer = writer;
    }

    /// <summary>
    /// Appends an item; false once the queue is completed (the connection is closing). On success the queue owns the
    /// item's message reference; on failure the caller still does.
    /// </summary>
    public bool TryEnqueue(in OutboundItem item)
    {
        lock (this)
        {
            if (_completed)
            {
                return false;
            }

            (_pending ??= []).Add(item);
            if (item.Kind == OutboundKind.Publish && item.QoS == QualityOfService.AtMostOnce)
            {
                _pendingQoS0++;
            }

            if (_writerState != WriterStateIdle)
            {
                return true;
            }

            _writerState = WriterStateScheduled;
        }

        ScheduleWriter();
        return true;
    }

    /// <summary>
    /// Enqueues a QoS 0 publish unless <paramref name="limit"/> are already waiting or its bytes would take those
    /// waiting past <paramref name="byteLimit"/> (a first one is always taken, however large).
    /// </summary>
    public bool TryEnqueueQoS0(in OutboundItem item, int limit, int byteLimit)
    {
        int length = item.Message!.Length;
        lock (this)
        {
            if (_completed || _pendingQoS0 >= limit || (_pendingQoS0 != 0 && _pendingQoS0Bytes + length > byteLimit))
            {
                return false;
            }

            (_pending ??= []).Add(item);
            _pendingQoS0++;
            _pendingQoS0Bytes += length;
            if (_pendingQoS0 >= QoS0HighWater || _pendingQoS0Bytes >= byteLimit / 2)
            {
                (_gate ??= new CongestionGate { Owner = _owner }).Close();
            }

            if (_writerState != WriterStateIdle)
            {
                return true;
            }

            _writerState = WriterStateScheduled;
        }

        ScheduleWriter();
        return true;
    }

    /// <summary>Runs the writer at the end of the current read batch, or on the thread pool outside one.</summary>
    private void ScheduleWriter()
    {
        if (!SignalBatch.TryDefer(_writer))
        {
            ThreadPool.UnsafeQueueUserWorkItem(_writer, preferLocal: false);
        }
    }

    /// <summary>
    /// Drops what the writer will never write, once it has ended (after <see cref="Complete"/>, nothing is added), so
    /// the pooled messages the items hold go back to their pool.
    /// </summary>
    public void ReleasePending()
    {
        lock (this)
        {
            if (_pending is not null)
            {
                ReleaseMessages(_pending);
                _pending.Clear();
            }

            _pendingQoS0 = 0;
            _pendingQoS0Bytes = 0;
        }
    }

    private static void ReleaseMessages(List<OutboundItem> items)
    {
        foreach (ref readonly OutboundItem item in CollectionsMarshal.AsSpan(items))
        {
            item.Message?.Release();
        }
    }

    /// <summary>No more items are accepted; the writer drains what is queued and ends.</summary>
    public void Complete()
    {
        bool schedule;
        lock (this)
        {
            _completed = true;
            schedule = _writerState == WriterStateIdle;
            if (schedule)
            {
                _writerState = WriterStateScheduled;
            }
        }

        Volatile.Read(ref _gate)?.Open();
        if (schedule)
        {
            ScheduleWriter();
        }
    }

    /// <summary>Whether the writer has ended: the queue was completed and drained, or the output failed.</summary>
    public bool WriterEnded => Volatile.Read(ref _writerState) == WriterStateEnded;

    /// <summary>
    /// For the writer: takes everything queued (true), or, with nothing queued, marks the writer idle (false, and a later
    /// item schedules it again) or ended (false with <paramref name="completed"/>, once the queue is completed). The
    /// caller clears the list and passes it back through <see cref="Recycle"/>.
    /// </summary>
    public bool TryTakeAll([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out List<OutboundItem>? taken, out bool completed)
    {
        lock (this)
        {
            if (_pending is null || _pending.Count == 0)
            {
                completed = _completed;
                _writerState = completed ? WriterStateEnded : WriterStateIdle;
                taken = null;
                return false;
            }

            completed = false;
            taken = _pending;
            _pending = _spare;
            _spare = null;
            _pendingQoS0 = 0;
            _pendingQoS0Bytes = 0;
        }

        // Everything waiting is now the writer's: publishers may go on.
        Volatile.Read(ref _gate)?.Open();
        return true;
    }

    /// <summary>The writer stopped for good (its output failed): it is not scheduled again.</summary>
    public void EndWriter()
    {
        lock (this)
        {
            _writerState = WriterStateEnded;
        }
    }

    /// <summary>Releases the message references of a written (or abandoned) batch and keeps the list for the next one.</summary>
    public void Recycle(List<OutboundItem> list)
    {
        ReleaseMessages(list);
        list.Clear();
        if (!_firstBatchRecycled)
        {
            // The first batch is the CONNACK: let the list go, since most connections (idle ones above all) never
            // need another; one that does allocates again, once, and keeps it.
            _firstBatchRecycled = true;
            return;
        }

        lock (this)
        {
            _spare = list;
        }
    }
}
