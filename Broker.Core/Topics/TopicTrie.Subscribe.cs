using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Broker.Core.Topics;

public sealed partial class TopicTrie<TKey, TValue>
{
    // Writer-only: the nodes on the path to the filter being unsubscribed, for pruning bottom-up without parent links.
    private Node[] _path = new Node[16];

    /// <summary>
    /// Adds a subscription, or replaces the value of an existing (filter, share group, key) entry. An empty
    /// <paramref name="shareGroup"/> is a normal subscription; otherwise the key joins that group on the filter.
    /// Returns true if the entry is new.
    /// </summary>
    /// <exception cref="ArgumentException">The filter or the share name is not valid; check them with <see cref="TopicValidator"/> first.</exception>
    public bool Subscribe(ReadOnlySpan<byte> filter, ReadOnlySpan<byte> shareGroup, TKey key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!TopicValidator.IsValidTopicFilter(filter))
        {
            ThrowInvalid(nameof(filter), "Not a valid topic filter.");
        }

        if (!shareGroup.IsEmpty && !TopicValidator.IsValidShareName(shareGroup))
        {
            ThrowInvalid(nameof(shareGroup), "Not a valid share name.");
        }

        lock (_writeLock)
        {
            Node node = _root;
            foreach (ReadOnlySpan<byte> level in new TopicLevels(filter))
            {
                node = node.GetOrAddChild(level);
            }

            bool hadEntries = node.HasEntries;
            bool added = shareGroup.IsEmpty ? node.SetSubscriber(key, value) : node.SetSharedMember(shareGroup, key, value);
            if (added)
            {
                CountEntry(+1, shared: !shareGroup.IsEmpty, filterDelta: hadEntries ? 0 : +1);
            }

            return added;
        }
    }

    /// <summary>Removes a subscription and prunes the nodes it leaves empty. Returns whether it existed (a filter that is not valid never does).</summary>
    public bool Unsubscribe(ReadOnlySpan<byte> filter, ReadOnlySpan<byte> shareGroup, TKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_writeLock)
        {
            int depth = 0;
            Node? node = _root;
            foreach (ReadOnlySpan<byte> level in new TopicLevels(filter))
            {
                if (depth == _path.Length)
                {
                    Array.Resize(ref _path, depth * 2);
                }

                _path[depth++] = node;
                node = node.FindChildForFilter(level);
                if (node is null)
                {
                    break;
                }
            }

            bool removed = node is not null
                && (shareGroup.IsEmpty ? node.RemoveSubscriber(key) : node.RemoveSharedMember(shareGroup, key));
            if (removed)
            {
                bool filterEmptied = !node!.HasEntries;
                CountEntry(-1, shared: !shareGroup.IsEmpty, filterDelta: filterEmptied ? -1 : 0);
                if (filterEmptied)
                {
                    Prune(node, depth);
                }
            }

            Array.Clear(_path, 0, depth);
            return removed;
        }
    }

    private void CountEntry(int delta, bool shared, int filterDelta)
    {
        Interlocked.Add(ref _subscriptionCount, delta);
        if (shared)
        {
            Interlocked.Add(ref _sharedSubscriptionCount, delta);
        }

        if (filterDelta != 0)
        {
            Interlocked.Add(ref _filterCount, filterDelta);
        }
    }

    /// <summary>Detaches <paramref name="node"/> and then each ancestor in <see cref="_path"/> that it leaves empty.</summary>
    private void Prune(Node node, int depth)
    {
        Node child = node;
        for (int i = depth - 1; i >= 0 && child.IsEmpty; i--)
        {
            _path[i].RemoveChild(child);
            child = _path[i];
        }
    }

    [DoesNotReturn]
    private static void ThrowInvalid(string paramName, string message) => throw new ArgumentException(message, paramName);

    /// <summary>The writer half of a node. Every method here runs under the trie's writer lock.</summary>
    private sealed partial class Node
    {
        // Writer-only counts of the child table: live children, and occupied slots (live plus dead) of a hashed table.
        private int _childCount;
        private int _childSlotsUsed;

        public bool HasEntries => _subscribers is not null || _groups is not null;

        public bool IsEmpty => !HasEntries && _childCount == 0 && _singleLevelWildcard is null && _multiLevelWildcard is null;

        public Node? FindChildForFilter(ReadOnlySpan<byte> level)
            => TopicValidator.IsSingleLevelWildcard(level) ? _singleLevelWildcard
                : TopicValidator.IsMultiLevelWildcard(level) ? _multiLevelWildcard
                : FindChild(level);

        public Node GetOrAddChild(ReadOnlySpan<byte> level)
        {
            if (TopicValidator.IsSingleLevelWildcard(level))
            {
                return _singleLevelWildcard ?? Publish(ref _singleLevelWildcard, new Node([], 0));
            }

            if (TopicValidator.IsMultiLevelWildcard(level))
            {
                return _multiLevelWildcard ?? Publish(ref _multiLevelWildcard, new Node([], 0));
            }

            Node?[]? slots = _children;
            if (slots is null)
            {
                Node first = new(level);
                _childCount = 1;
                _childSlotsUsed = 1;
                return Publish(ref _children, [first])[0]!;
            }

            return slots.Length <= ScanLimit ? GetOrAddScanned(slots, level) : GetOrAddHashed(slots, level);
        }

        public void RemoveChild(Node child)
        {
            if (ReferenceEquals(child, _singleLevelWildcard))
            {
                Volatile.Write(ref _singleLevelWildcard, null);
                return;
            }

            if (ReferenceEquals(child, _multiLevelWildcard))
            {
                Volatile.Write(ref _multiLevelWildcard, null);
                return;
            }

            Node?[] slots = _children!;
            if (--_childCount == 0)
            {
                _childSlotsUsed = 0;
                Volatile.Write(ref _children, null);
            }
            else if (slots.Length <= ScanLimit)
            {
                Volatile.Write(ref slots[Array.IndexOf(slots, child)], null);
                _childSlotsUsed--;
            }
            else if (_childCount <= ScanLimit / 2 || _childCount * 8 < slots.Length)
            {
                // A hashed table shrinks once mostly dead, so a burst of subscriptions does not hold memory forever.
                Rebuild(Capacity(_childCount));
            }
        }

        public bool SetSubscriber(TKey key, TValue value)
        {
            SubscriberList<TKey, TValue> subscribers = new(_subscribers);
            int index = subscribers.IndexOf(key);
            Volatile.Write(ref _subscribers, (index < 0 ? subscribers.Add(key, value) : subscribers.Replace(index, value)).Items);
            return index < 0;
        }

        public bool RemoveSubscriber(TKey key)
        {
            SubscriberList<TKey, TValue> subscribers = new(_subscribers);
            int index = subscribers.IndexOf(key);
            if (index < 0)
            {
                return false;
            }

            Volatile.Write(ref _subscribers, subscribers.RemoveAt(index).Items);
            return true;
        }

        public bool SetSharedMember(ReadOnlySpan<byte> name, TKey key, TValue value)
        {
            SharedGroup<TKey, TValue>? group = FindGroup(name, out _);
            if (group is not null)
            {
                return group.Set(key, value);
            }

            // The member goes in before the group is published, so a reader never meets a new, empty group.
            group = new SharedGroup<TKey, TValue>(name);
            group.Set(key, value);
            Volatile.Write(ref _groups, [.. _groups ?? [], group]);
            return true;
        }

        public bool RemoveSharedMember(ReadOnlySpan<byte> name, TKey key)
        {
            SharedGroup<TKey, TValue>? group = FindGroup(name, out int index);
            if (group is null || !group.Remove(key))
            {
                return false;
            }

            if (group.IsEmpty)
            {
                SharedGroup<TKey, TValue>[] groups = _groups!;
                Volatile.Write(ref _groups, groups.Length == 1 ? null : [.. groups.AsSpan(0, index), .. groups.AsSpan(index + 1)]);
            }

            return true;
        }

        private static T Publish<T>(ref T? location, T value)
            where T : class
        {
            Volatile.Write(ref location, value);
            return value;
        }

        /// <summary>Slots for <paramref name="liveCount"/> children: exact-ish while scanned, at most half full once hashed.</summary>
        private static int Capacity(int liveCount)
            => (int)BitOperations.RoundUpToPowerOf2((uint)(liveCount <= ScanLimit ? liveCount : liveCount * 2));

        private SharedGroup<TKey, TValue>? FindGroup(ReadOnlySpan<byte> name, out int index)
        {
            SharedGroup<TKey, TValue>[]? groups = _groups;
            for (index = 0; groups is not null && index < groups.Length; index++)
            {
                if (groups[index].NameUtf8.SequenceEqual(name))
                {
                    return groups[index];
                }
            }

            return null;
        }

        private Node GetOrAddScanned(Node?[] slots, ReadOnlySpan<byte> level)
        {
            int free = -1;
            for (int i = 0; i < slots.Length; i++)
            {
                Node? child = slots[i];
                if (child is null)
                {
                    free = free < 0 ? i : free;
                }
                else if (child.Level.AsSpan().SequenceEqual(level))
                {
                    return child;
                }
            }

            Node created = new(level);
            if (free >= 0)
            {
                Volatile.Write(ref slots[free], created);
                _childCount++;
                _childSlotsUsed++;
                return created;
            }

            // Full: double while small, then switch to a hashed table.
            Rebuild(slots.Length < ScanLimit ? slots.Length * 2 : Capacity(_childCount + 1));
            return Insert(created);
        }

        private Node GetOrAddHashed(Node?[] slots, ReadOnlySpan<byte> level)
        {
            int hash = HashLevel(level);
            int mask = slots.Length - 1;
            int dead = -1;
            int i = hash & mask;
            for (Node? child; (child = slots[i]) is not null; i = (i + 1) & mask)
            {
                if (child.Hash == hash && child.Level.AsSpan().SequenceEqual(level))
                {
                    if (child.IsEmpty)
                    {
                        // Revived in place: it is still in its slot, so readers may already be probing to it.
                        _childCount++;
                    }

                    return child;
                }

                dead = dead < 0 && child.IsEmpty ? i : dead;
            }

            Node created = new(level.ToArray(), hash);
            if (dead >= 0)
            {
                // A dead node's slot is on its probe chain and stays occupied, so no chain is broken by the swap.
                Volatile.Write(ref slots[dead], created);
                _childCount++;
                return created;
            }

            if ((_childSlotsUsed + 1) * 4 > slots.Length * 3)
            {
                Rebuild(Capacity(_childCount + 1));
                return Insert(created);
            }

            Volatile.Write(ref slots[i], created);
            _childCount++;
            _childSlotsUsed++;
            return created;
        }

        /// <summary>Adds a child to a table known to have room (just rebuilt) and to lack its level.</summary>
        private Node Insert(Node created)
        {
            Node?[] slots = _children!;
            int i = slots.Length <= ScanLimit ? Array.IndexOf(slots, null) : FreeSlot(slots, created.Hash);
            Volatile.Write(ref slots[i], created);
            _childCount++;
            _childSlotsUsed++;
            return created;
        }

        /// <summary>Publishes a new table of <paramref name="capacity"/> slots holding the live children only.</summary>
        private void Rebuild(int capacity)
        {
            Node?[] rebuilt = new Node?[capacity];
            int live = 0;
            foreach (Node? child in _children!)
            {
                if (child is null || child.IsEmpty)
                {
                    continue;
                }

                rebuilt[capacity <= ScanLimit ? live : FreeSlot(rebuilt, child.Hash)] = child;
                live++;
            }

            Debug.Assert(live == _childCount, "Only dead children are dropped.");
            _childSlotsUsed = live;
            Volatile.Write(ref _children, rebuilt);
        }

        private static int FreeSlot(Node?[] slots, int hash)
        {
            int mask = slots.Length - 1;
            int i = hash & mask;
            while (slots[i] is not null)
            {
                i = (i + 1) & mask;
            }

            return i;
        }
    }
}
