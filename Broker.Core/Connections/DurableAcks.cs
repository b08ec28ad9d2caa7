using Broker.Core.Persistence;
using Broker.Core.Protocol;

namespace Broker.Core.Connections;

/// <summary>
/// PUBACK/PUBREC held back until the persistence has made durable what their PUBLISH wrote (a message queued to a
/// persistent session, a retained message), then sent in the order their PUBLISH packets came [MQTT-4.6.0-2].
/// A connection creates one the first time it defers an ack; connections whose traffic touches no persistent state
/// never do.
/// </summary>
internal sealed class DurableAcks : IDurabilityCallback
{
    private readonly MqttConnection _connection;
    private readonly IBrokerPersistence _persistence;
    private readonly Queue<PendingAck> _pending = new();
    private readonly Lock _lock = new();
    private long _lastSequence;
    private int _count;
    private bool _registered;

    public DurableAcks(MqttConnection connection, IBrokerPersistence persistence)
    {
        _connection = connection;
        _persistence = persistence;
    }

    /// <summary>No ack waiting: a new one needs to wait only for its own write. Only the read loop adds, so it stays true.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    /// <summary>Queues an ack to send once <paramref name="sequence"/> is durable and every earlier ack went.</summary>
    public void Add(long sequence, PacketType type, ushort packetId, ReasonCode reasonCode)
    {
        bool register = false;
        lock (_lock)
        {
            // Never before an ack queued earlier.
            sequence = Math.Max(sequence, _lastSequence);
            _lastSequence = sequence;
            _pending.Enqueue(new PendingAck(sequence, type, packetId, reasonCode));
            Volatile.Write(ref _count, _pending.Count);
            if (!_registered)
            {
                _registered = true;
                register = true;
            }
        }

        if (register)
        {
            _persistence.WhenDurable(sequence, this);
        }
    }

    public void OnDurable(long durableSequence)
    {
        long next = 0;
        lock (_lock)
        {
            while (_pending.TryPeek(out PendingAck ack) && ack.Sequence <= durableSequence)
            {
                _pending.Dequeue();
                _connection.EnqueueAck(ack.Type, ack.PacketId, ack.ReasonCode);
            }

            Volatile.Write(ref _count, _pending.Count);
            if (_pending.TryPeek(out PendingAck head))
            {
                next = head.Sequence;
            }
            else
            {
                _registered = false;
            }
        }

        if (next != 0)
        {
            _persistence.WhenDurable(next, this);
        }
    }

    private readonly record struct PendingAck(long Sequence, PacketType Type, ushort PacketId, ReasonCode ReasonCode);
}
