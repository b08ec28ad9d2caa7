namespace Broker.Core.Topics;

// Invariants. Readers (Match, EnumerateEntries) never lock; writers (Subscribe, Unsubscribe) hold _writeLock.
// 1. A node's subscriber list and shared-group array are immutable snapshots, replaced whole with Volatile.Write:
//    a reader sees a concurrent change entirely or not at all, never a torn set, and never an entry twice.
// 2. A child table is read one key at a time, so it changes in place: a slot goes null -> node, node -> null (scanned
//    table, <= 8 slots) or dead node -> node (hashed table, at most 3/4 full, so every probe ends at a null slot).
//    Growing or shrinking publishes a new array; the old one is never written again.
// 3. The writer that empties a node prunes it; in a hashed table it stays in its slot, dead, until revived or rebuilt.
// 4. Each (filter, share group, key) is one entry; counts change only under the lock, with Interlocked.

/// <summary>
/// The subscription tree: topic filters by level, each with its subscribers and shared groups. Matching a topic is
/// lock-free and allocation-free; subscribing and unsubscribing serialize on one lock. <typeparamref name="TKey"/> is
/// the subscriber (a session), compared by reference; <typeparamref name="TValue"/> is what the broker keeps per
/// subscription (QoS, no local, subscription identifier...).
/// </summary>
public sealed partial class TopicTrie<TKey, TValue>
    where TKey : class
{
    private readonly Node _root = new([], 0);
    private readonly Lock _writeLock = new();
    private int _subscriptionCount;
    private int _sharedSubscriptionCount;
    private int _filterCount;

    /// <summary>Every entry, normal and shared.</summary>
    public int SubscriptionCount => Volatile.Read(ref _subscriptionCount);

    /// <summary>Entries that are shared group memberships.</summary>
    public int SharedSubscriptionCount => Volatile.Read(ref _sharedSubscriptionCount);

    /// <summary>Distinct filters with at least one subscriber or group member (EMQX's route and topic count).</summary>
    public int FilterCount => Volatile.Read(ref _filterCount);

    /// <summary>
    /// One topic level of some filter. <see cref="Level"/> is empty for the root and for the wildcard children, which
    /// hang off their own fields so that a match finds them without a lookup.
    /// </summary>
    /// <remarks>
    /// Children are one <c>Node?[]</c>: up to <see cref="ScanLimit"/> slots it is scanned, as most nodes have one or
    /// two children; above that it is an open-addressing table (power-of-two length, linear probing) keyed by
    /// <see cref="Hash"/>, a seeded <see cref="HashCode"/> of the level bytes, so clients cannot pick colliding levels.
    /// </remarks>
    private sealed partial class Node(byte[] level, int hash)
    {
        public const int ScanLimit = 8;

        public readonly byte[] Level = level;
        public readonly int Hash = hash;

        private Node?[]? _children;
        private Node? _singleLevelWildcard;
        private Node? _multiLevelWildcard;
        private object? _subscribers;
        private SharedGroup<TKey, TValue>[]? _groups;

        public Node(ReadOnlySpan<byte> level)
            : this(level.ToArray(), HashLevel(level))
        {
        }

        public Node? SingleLevelWildcard => Volatile.Read(ref _singleLevelWildcard);

        public Node? MultiLevelWildcard => Volatile.Read(ref _multiLevelWildcard);

        public SubscriberList<TKey, TValue> Subscribers => new(Volatile.Read(ref _subscribers));

        public SharedGroup<TKey, TValue>[]? Groups => Volatile.Read(ref _groups);

        /// <summary>The raw child slots, with nulls and (in a hashed table) dead nodes, for enumeration.</summary>
        public Node?[]? Children => Volatile.Read(ref _children);

        public static int HashLevel(ReadOnlySpan<byte> level)
        {
            HashCode hash = default;
            hash.AddBytes(level);
            return hash.ToHashCode();
        }

        /// <summary>The child for a literal level, or null. It may be dead (empty), which reads the same as absent.</summary>
        public Node? FindChild(ReadOnlySpan<byte> level)
        {
            Node?[]? slots = Volatile.Read(ref _children);
            if (slots is null)
            {
                return null;
            }

            if (slots.Length <= ScanLimit)
            {
                foreach (Node? child in slots)
                {
                    if (child is not null && child.Level.AsSpan().SequenceEqual(level))
                    {
                        return child;
                    }
                }

                return null;
            }

            int hash = HashLevel(level);
            int mask = slots.Length - 1;
            for (int i = hash & mask; ; i = (i + 1) & mask)
            {
                Node? child = slots[i];
                if (child is null)
                {
                    return null;
                }

                if (child.Hash == hash && child.Level.AsSpan().SequenceEqual(level))
                {
                    return child;
                }
            }
        }
    }
}
