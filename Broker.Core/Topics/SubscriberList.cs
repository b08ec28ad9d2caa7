namespace Broker.Core.Topics;

/// <summary>
/// An immutable snapshot of the subscribers of one filter (or the members of one shared group). Read it once and use
/// that copy: it never changes, a writer publishes a new list instead.
/// </summary>
/// <remarks>
/// Up to <see cref="ChunkSize"/> entries are one exact-length array, the common case and the smallest. Larger lists
/// are full chunks of <see cref="ChunkSize"/> plus a shorter last one, so a change copies one or two chunks and the
/// chunk directory, O(256 + n/256) instead of O(n): 100k subscribers on one filter cost about 7 KB per change, not
/// 1.6 MB. Writers find a key in a large list through a position index that only writers (holding the trie lock)
/// touch, handed from each snapshot to its successor.
/// </remarks>
public readonly struct SubscriberList<TKey, TValue>
    where TKey : class
{
    internal const int ChunkSize = 1 << ChunkShift;
    private const int ChunkShift = 8;
    private const int ChunkMask = ChunkSize - 1;

    // null (empty), Subscriber<TKey, TValue>[] (1..ChunkSize entries) or Chunked (more than ChunkSize / 2).
    private readonly object? _items;

    internal SubscriberList(object? items) => _items = items;

    /// <summary>What the owner stores and publishes with <see cref="Volatile.Write{T}(ref T, T)"/>.</summary>
    internal object? Items => _items;

    public int Count => _items switch
    {
        null => 0,
        Subscriber<TKey, TValue>[] flat => flat.Length,
        _ => ((Chunked)_items).Count,
    };

    public bool IsEmpty => _items is null;

    public ref readonly Subscriber<TKey, TValue> this[int index]
    {
        get
        {
            if (_items is Subscriber<TKey, TValue>[] flat)
            {
                return ref flat[index];
            }

            Chunked chunked = _items as Chunked ?? throw new ArgumentOutOfRangeException(nameof(index));
            if ((uint)index >= (uint)chunked.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return ref chunked.Chunks[index >> ChunkShift][index & ChunkMask];
        }
    }

    public Enumerator GetEnumerator() => new(_items);

    internal int IndexOf(TKey key)
    {
        if (_items is Subscriber<TKey, TValue>[] flat)
        {
            for (int i = 0; i < flat.Length; i++)
            {
                if (ReferenceEquals(flat[i].Key, key))
                {
                    return i;
                }
            }

            return -1;
        }

        return _items is Chunked chunked && chunked.Positions.TryGetValue(key, out int position) ? position : -1;
    }

    internal SubscriberList<TKey, TValue> Add(TKey key, TValue value)
    {
        Subscriber<TKey, TValue> added = new(key, value);
        switch (_items)
        {
            case null:
                return new(new[] { added });
            case Subscriber<TKey, TValue>[] { Length: < ChunkSize } flat:
                Subscriber<TKey, TValue>[] longer = new Subscriber<TKey, TValue>[flat.Length + 1];
                flat.CopyTo(longer, 0);
                longer[^1] = added;
                return new(longer);
            case Subscriber<TKey, TValue>[] full:
                // The full array becomes the first chunk as it is: snapshots are immutable, so sharing it is safe.
                Dictionary<TKey, int> positions = new(ChunkSize * 2, IdentityComparer<TKey>.Instance);
                for (int i = 0; i < full.Length; i++)
                {
                    positions.Add(full[i].Key, i);
                }

                positions.Add(key, full.Length);
                return new(new Chunked([full, [added]], full.Length + 1, positions));
            default:
                return new(((Chunked)_items).Add(added));
        }
    }

    internal SubscriberList<TKey, TValue> Replace(int index, TValue value)
    {
        if (_items is Subscriber<TKey, TValue>[] flat)
        {
            Subscriber<TKey, TValue>[] copy = (Subscriber<TKey, TValue>[])flat.Clone();
            copy[index] = new(flat[index].Key, value);
            return new(copy);
        }

        return new(((Chunked)_items!).Replace(index, value));
    }

    internal SubscriberList<TKey, TValue> RemoveAt(int index)
    {
        if (_items is Subscriber<TKey, TValue>[] flat)
        {
            if (flat.Length == 1)
            {
                return default;
            }

            // Order is kept, so round robin and sticky hints stay meaningful across a small change.
            Subscriber<TKey, TValue>[] shorter = new Subscriber<TKey, TValue>[flat.Length - 1];
            flat.AsSpan(0, index).CopyTo(shorter);
            flat.AsSpan(index + 1).CopyTo(shorter.AsSpan(index));
            return new(shorter);
        }

        Chunked chunked = (Chunked)_items!;
        return chunked.Count - 1 > ChunkSize / 2 ? new(chunked.RemoveAt(index)) : new(chunked.FlattenWithout(index));
    }

    /// <summary>Enumerates a snapshot by reference, without copying entries or allocating.</summary>
    public struct Enumerator
    {
        private readonly Subscriber<TKey, TValue>[][]? _chunks;
        private Subscriber<TKey, TValue>[] _chunk;
        private int _chunkIndex;
        private int _index;

        internal Enumerator(object? items)
        {
            _chunks = (items as Chunked)?.Chunks;
            _chunk = items as Subscriber<TKey, TValue>[] ?? _chunks?[0] ?? [];
            _chunkIndex = 0;
            _index = -1;
        }

        public readonly ref readonly Subscriber<TKey, TValue> Current => ref _chunk[_index];

        public bool MoveNext()
        {
            if (++_index < _chunk.Length)
            {
                return true;
            }

            if (_chunks is null || ++_chunkIndex >= _chunks.Length)
            {
                return false;
            }

            _chunk = _chunks[_chunkIndex];
            _index = 0;
            return true;
        }
    }

    /// <summary>A large list: every chunk full except the last, which has at least one entry.</summary>
    private sealed class Chunked(Subscriber<TKey, TValue>[][] chunks, int count, Dictionary<TKey, int> positions)
    {
        public readonly Subscriber<TKey, TValue>[][] Chunks = chunks;
        public readonly int Count = count;

        // Writer-only: key -> position in the newest snapshot. Older snapshots keep a stale reference they never use.
        public readonly Dictionary<TKey, int> Positions = positions;

        public Chunked Add(Subscriber<TKey, TValue> added)
        {
            Subscriber<TKey, TValue>[] last = Chunks[^1];
            Subscriber<TKey, TValue>[][] directory;
            if (last.Length == ChunkSize)
            {
                directory = new Subscriber<TKey, TValue>[Chunks.Length + 1][];
                Chunks.CopyTo(directory, 0);
                directory[^1] = [added];
            }
            else
            {
                directory = (Subscriber<TKey, TValue>[][])Chunks.Clone();
                directory[^1] = [.. last, added];
            }

            Positions.Add(added.Key, Count);
            return new(directory, Count + 1, Positions);
        }

        public Chunked Replace(int index, TValue value)
        {
            Subscriber<TKey, TValue>[][] directory = (Subscriber<TKey, TValue>[][])Chunks.Clone();
            Subscriber<TKey, TValue>[] chunk = (Subscriber<TKey, TValue>[])directory[index >> ChunkShift].Clone();
            chunk[index & ChunkMask] = new(chunk[index & ChunkMask].Key, value);
            directory[index >> ChunkShift] = chunk;
            return new(directory, Count, Positions);
        }

        /// <summary>Moves the last entry into the hole, so only the hole's chunk and the last chunk are copied.</summary>
        public Chunked RemoveAt(int index)
        {
            int lastPosition = Count - 1;
            int lastChunk = lastPosition >> ChunkShift;
            Subscriber<TKey, TValue> removed = Chunks[index >> ChunkShift][index & ChunkMask];
            Subscriber<TKey, TValue> moved = Chunks[lastChunk][lastPosition & ChunkMask];

            Subscriber<TKey, TValue>[] oldLast = Chunks[lastChunk];
            Subscriber<TKey, TValue>[][] directory = Chunks.AsSpan(0, oldLast.Length == 1 ? lastChunk : lastChunk + 1).ToArray();
            if (oldLast.Length > 1)
            {
                directory[lastChunk] = oldLast.AsSpan(0, oldLast.Length - 1).ToArray();
            }

            Positions.Remove(removed.Key);
            if (index != lastPosition)
            {
                int holeChunk = index >> ChunkShift;

                // The shortened last chunk is already a private copy; any other chunk is still shared with the old snapshot.
                Subscriber<TKey, TValue>[] chunk = holeChunk == lastChunk ? directory[holeChunk] : (Subscriber<TKey, TValue>[])directory[holeChunk].Clone();
                chunk[index & ChunkMask] = moved;
                directory[holeChunk] = chunk;
                Positions[moved.Key] = index;
            }

            return new(directory, lastPosition, Positions);
        }

        public Subscriber<TKey, TValue>[] FlattenWithout(int index)
        {
            Subscriber<TKey, TValue>[] flat = new Subscriber<TKey, TValue>[Count - 1];
            int written = 0;
            for (int c = 0; c < Chunks.Length; c++)
            {
                Subscriber<TKey, TValue>[] chunk = Chunks[c];
                for (int i = 0; i < chunk.Length; i++)
                {
                    if ((c << ChunkShift) + i != index)
                    {
                        flat[written++] = chunk[i];
                    }
                }
            }

            return flat;
        }
    }
}
