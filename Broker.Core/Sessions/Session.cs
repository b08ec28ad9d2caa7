using Broker.Core.Connections;
using Broker.Core.Protocol;
using Broker.Core.Routing;

namespace Broker.Core.Sessions;

/// <summary>
/// State that outlives a connection [MQTT-4.1]: subscriptions, the outgoing inflight window and queue, incoming
/// QoS 2 packet identifiers awaiting PUBREL, expiry. Mutations happen under <see cref="Sync"/>; the lock is held
/// only for in-memory bookkeeping, never across I/O.
/// </summary>
public sealed partial class Session
{
    private readonly MqttBroker _broker;
    // An idle client's session never delivers: each collection starts as a shared empty instance and is created on
    // its first insertion (the ...ForInsert methods), which saves ~300 bytes per idle session. The shared instances
    // are only ever read: lookups, counts, enumeration and Remove of a key they cannot hold do not write to them, a
    // key found by a lookup means the collection is a real one, and Terminate swaps them back instead of clearing.
    private static readonly Dictionary<ushort, InflightEntry> s_noInflight = [];
    private static readonly Queue<QueuedMessage> s_noQueue = new();
    private static readonly Dictionary<ushort, long> s_noAwaitingRel = [];
    private static readonly Dictionary<string, SubscriptionEntry> s_noSubscriptions = new(StringComparer.Ordinal);

    private Dictionary<ushort, InflightEntry> _inflight = s_noInflight;
    private Queue<QueuedMessage> _queue = s_noQueue;
    private Dictionary<ushort, long> _awaitingRel = s_noAwaitingRel;
    private Dictionary<string, SubscriptionEntry> _subscriptions = s_noSubscriptions;
    private MqttConnection? _connection;
    private ushort _nextPacketId;
    private long _sequence;
    private long _queueDropped;
    private int _subscriptionCount;

    // Hash codes handed out in order: see GetHashCode.
    private static int s_nextHashCode;
    private readonly int _hashCode = Interlocked.Increment(ref s_nextHashCode);
    private readonly long _createdAtTicks;

    internal Session(MqttBroker broker, string clientId, DateTimeOffset createdAt)
    {
        _broker = broker;
        ClientId = clientId;
        _createdAtTicks = createdAt.UtcTicks;
    }

    /// <summary>
    /// The session's lock is the session itself (internal code only locks it through this property): a
    /// <see cref="Lock"/> would be 48 more bytes per session.
    /// </summary>
    internal object Sync => this;

    /// <summary>
    /// Closed while this connected session's queue is past its high-water mark: publishers to it wait. Created under
    /// <see cref="Sync"/> the first time the queue gets there; null for the sessions (most) that never fall behind.
    /// </summary>
    private CongestionGate? _gate;

    public string ClientId { get; }

    /// <summary>When the session was created (UTC).</summary>
    public DateTimeOffset CreatedAt => new(_createdAtTicks, TimeSpan.Zero);

    /// <summary>Seconds the session outlives its connection; <see cref="uint.MaxValue"/> is never [MQTT-3.1.2-23].</summary>
    public uint ExpiryInterval { get; internal set; }

    /// <summary>Timestamp after which a disconnected session is discarded; 0 while connected.</summary>
    internal long ExpiresAt { get; set; }

    /// <summary>Whether the broker's persistence holds a row for this session (to delete when it ends).</summary>
    internal bool IsPersisted { get; set; }

    /// <summary>Set once the session is discarded: late deliveries are ignored.</summary>
    internal bool IsTerminated { get; set; }

    /// <summary>The will waiting for its Will Delay Interval, and when it is due [MQTT-3.1.3-9].</summary>
    internal Message? PendingWill { get; set; }

    internal long PendingWillAt { get; set; }

    internal uint PendingWillExpiryInterval { get; set; }

    internal MqttConnection? Connection => Volatile.Read(ref _connection);

    public bool IsConnected => Volatile.Read(ref _connection) is not null;

    public int InflightCount
    {
        get
        {
            lock (Sync)
            {
                return _inflight.Count;
            }
        }
    }

    public int QueueLength
    {
        get
        {
            lock (Sync)
            {
                return _queue.Count;
            }
        }
    }

    public long QueueDropped => Interlocked.Read(ref _queueDropped);

    public int AwaitingRelCount
    {
        get
        {
            lock (Sync)
            {
                return _awaitingRel.Count;
            }
        }
    }

    /// <summary>Read without the lock on the routing path; exact once the subscribe or unsubscribe returns.</summary>
    public int SubscriptionCount => Volatile.Read(ref _subscriptionCount);

    /// <summary>A copy of the subscriptions, for the management API.</summary>
    public IReadOnlyList<SubscriptionEntry> GetSubscriptions()
    {
        lock (Sync)
        {
            return [.. _subscriptions.Values];
        }
    }

    /// <summary>Records a subscription; returns the previous entry for the same filter, if any.</summary>
    internal SubscriptionEntry? SetSubscription(SubscriptionEntry entry)
    {
        lock (Sync)
        {
            _subscriptions.TryGetValue(entry.Filter, out SubscriptionEntry? previous);
            SubscriptionsForInsert()[entry.Filter] = entry;
            Volatile.Write(ref _subscriptionCount, _subscriptions.Count);
            return previous;
        }
    }

    internal SubscriptionEntry? RemoveSubscription(string filter)
    {
        lock (Sync)
        {
            SubscriptionEntry? removed = _subscriptions.Remove(filter, out SubscriptionEntry? found) ? found : null;
            Volatile.Write(ref _subscriptionCount, _subscriptions.Count);
            return removed;
        }
    }

    internal bool HasSubscription(string filter)
    {
        lock (Sync)
        {
            return _subscriptions.ContainsKey(filter);
        }
    }

    private Dictionary<ushort, InflightEntry> InflightForInsert()
        => ReferenceEquals(_inflight, s_noInflight) ? _inflight = [] : _inflight;

    private Queue<QueuedMessage> QueueForInsert()
        => ReferenceEquals(_queue, s_noQueue) ? _queue = new Queue<QueuedMessage>() : _queue;

    private Dictionary<ushort, long> AwaitingRelForInsert()
        => ReferenceEquals(_awaitingRel, s_noAwaitingRel) ? _awaitingRel = [] : _awaitingRel;

    private Dictionary<string, SubscriptionEntry> SubscriptionsForInsert()
        => ReferenceEquals(_subscriptions, s_noSubscriptions) ? _subscriptions = new Dictionary<string, SubscriptionEntry>(StringComparer.Ordinal) : _subscriptions;

    /// <summary>
    /// Empties the session when it is discarded; returns its subscriptions so the broker can unroute them, and adds to
    /// <paramref name="orphans"/> the QoS 1/2 messages a shared group gave it that its client never received in full
    /// (queued, or inflight before PUBREC), for the broker to hand to another member (EMQX redispatches them too).
    /// </summary>
    internal List<SubscriptionEntry> Terminate(List<QueuedMessage> orphans)
    {
        lock (Sync)
        {
            IsTerminated = true;
            // An orphan keeps the message reference its entry held; every other entry releases its own.
            foreach (InflightEntry entry in _inflight.Values)
            {
                if (entry.Delivery.SharedGroup is not null && entry.State != InflightState.AwaitingPubComp)
                {
                    orphans.Add(entry.Delivery);
                }
                else
                {
                    entry.Delivery.Message.Release();
                }
            }

            foreach (QueuedMessage queued in _queue)
            {
                if (queued.SharedGroup is not null && queued.QoS != QualityOfService.AtMostOnce)
                {
                    orphans.Add(queued);
                }
                else
                {
                    queued.Message.Release();
                }
            }

            var subscriptions = new List<SubscriptionEntry>(_subscriptions.Values);
            _subscriptions = s_noSubscriptions;
            Volatile.Write(ref _subscriptionCount, 0);
            _inflight = s_noInflight;
            _queue = s_noQueue;
            _awaitingRel = s_noAwaitingRel;
            _connection = null;
            _gate?.Open();
            return subscriptions;
        }
    }

    /// <summary>Binds a new connection: resends the inflight window and drains the queue into it.</summary>
    internal void Attach(MqttConnection connection)
    {
        lock (Sync)
        {
            _connection = connection;
            ExpiresAt = 0;
            PendingWill = null;
            ResendInflightLocked(connection, long.MaxValue);
            FillWindowLocked(connection);
        }
    }

    /// <summary>Unbinds <paramref name="connection"/> if it is still the current one; returns whether it was.</summary>
    internal bool Detach(MqttConnection connection, long expiresAt)
    {
        lock (Sync)
        {
            if (!ReferenceEquals(_connection, connection))
            {
                return false;
            }

            _connection = null;
            ExpiresAt = expiresAt;

            // Offline, the queue drops its oldest instead (EMQX): nobody waits for a client that is gone.
            _gate?.Open();
            return true;
        }
    }

    /// <summary>
    /// An incoming QoS 2 PUBLISH: false if the packet identifier already awaits PUBREL (a retransmission,
    /// not to be routed again [MQTT-4.3.3-9]).
    /// </summary>
    internal bool TryBeginIncomingQoS2(ushort packetId, long now)
    {
        lock (Sync)
        {
            return AwaitingRelForInsert().TryAdd(packetId, now);
        }
    }

    internal bool IsAwaitingRel(ushort packetId)
    {
        lock (Sync)
        {
            return _awaitingRel.ContainsKey(packetId);
        }
    }

    /// <summary>PUBREL from the client: false if the identifier was unknown.</summary>
    internal bool CompleteIncomingQoS2(ushort packetId)
    {
        lock (Sync)
        {
            return _awaitingRel.Remove(packetId);
        }
    }

    /// <summary>Forgets incoming QoS 2 identifiers whose PUBREL never came (<c>await_rel_timeout</c>).</summary>
    internal int ExpireAwaitingRel(long olderThan)
    {
        lock (Sync)
        {
            if (_awaitingRel.Count == 0)
            {
                return 0;
            }

            List<ushort>? expired = null;
            foreach (KeyValuePair<ushort, long> pair in _awaitingRel)
            {
                if (pair.Value <= olderThan)
                {
                    (expired ??= []).Add(pair.Key);
                }
            }

            if (expired is null)
            {
                return 0;
            }

            foreach (ushort id in expired)
            {
                _awaitingRel.Remove(id);
            }

            return expired.Count;
        }
    }

    /// <summary>
    /// A number fixed at creation rather than the runtime's identity hash: that one lives in the object header, where
    /// it would push <see cref="Sync"/>'s thin lock out into a sync block for every session routing has put in a
    /// dictionary. Equality stays reference equality.
    /// </summary>
    public override int GetHashCode() => _hashCode;
}
