using System.Numerics;

namespace Broker.Bench.Load;

/// <summary>
/// One bit per sequence number of one publisher: which messages a subscriber (or a whole share group) received, or
/// which ones the broker acknowledged. Chunks are allocated on first use and never move, so members of a share group
/// may set bits concurrently (<see cref="Interlocked.Or(ref long, long)"/>) while the table grows; no copy, no lock.
/// </summary>
internal sealed class SequenceBitmap
{
    private const int ChunkBits = 1 << 22;            // 512 KB per chunk: 4M sequence numbers
    private const int ChunkWords = ChunkBits / 64;
    private const int MaxChunks = 4096;               // 17 billion messages: far beyond any run

    private readonly long[]?[] _chunks = new long[]?[MaxChunks];

    /// <summary>Sets the bit for <paramref name="sequence"/>; false if it was already set (a duplicate).</summary>
    public bool TrySet(long sequence)
    {
        if ((ulong)sequence >= (ulong)MaxChunks * ChunkBits)
        {
            return false;
        }

        long[] chunk = _chunks[sequence >> 22] ?? AllocateChunk((int)(sequence >> 22));
        int bit = (int)(sequence & (ChunkBits - 1));
        long mask = 1L << (bit & 63);
        return (Interlocked.Or(ref chunk[bit >> 6], mask) & mask) == 0;
    }

    /// <summary>Counts sequence numbers in [0, <paramref name="count"/>) that are set here and not in <paramref name="other"/>.</summary>
    public long CountSetNotIn(SequenceBitmap? other, long count)
    {
        long result = 0;
        for (int c = 0; c < MaxChunks && (long)c * ChunkBits < count; c++)
        {
            long[]? mine = Volatile.Read(ref _chunks[c]);
            if (mine is null)
            {
                continue;
            }

            long[]? theirs = other is null ? null : Volatile.Read(ref other._chunks[c]);
            long limit = Math.Min(ChunkBits, count - ((long)c * ChunkBits));
            for (int w = 0; (long)w * 64 < limit; w++)
            {
                long word = Volatile.Read(ref mine[w]) & ~(theirs is null ? 0 : Volatile.Read(ref theirs[w]));
                long remaining = limit - ((long)w * 64);
                if (remaining < 64)
                {
                    word &= (1L << (int)remaining) - 1;
                }

                result += BitOperations.PopCount((ulong)word);
            }
        }

        return result;
    }

    /// <summary>Counts set bits in [0, <paramref name="count"/>).</summary>
    public long CountSet(long count) => CountSetNotIn(null, count);

    private long[] AllocateChunk(int index)
    {
        var fresh = new long[ChunkWords];
        return Interlocked.CompareExchange(ref _chunks[index], fresh, null) ?? fresh;
    }
}
