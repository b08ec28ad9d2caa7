using System.Buffers;

namespace Broker.Transport.Buffers;

/// <summary>
/// A buffer that is its own sequence segment: a pooled 4 KiB block of <see cref="BlockMemoryPool"/>, or, for a
/// packet larger than a block, an array rented from <see cref="ArrayPool{T}.Shared"/> for as long as the bytes live.
/// <see cref="End"/> counts the bytes written into it; <see cref="ReadOnlySequenceSegment{T}.Memory"/> shows exactly
/// those, so a chain of segments is a <see cref="ReadOnlySequence{T}"/> of the written bytes.
/// </summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>, IMemoryOwner<byte>
{
    private readonly BlockMemoryPool? _pool;

    internal BufferSegment(byte[] array, BlockMemoryPool? pool)
    {
        Array = array;
        _pool = pool;
    }

    /// <summary>An unpooled segment over an array of at least <paramref name="size"/> bytes from the shared array pool.</summary>
    public static BufferSegment RentLarge(int size) => new(ArrayPool<byte>.Shared.Rent(size), pool: null);

    public byte[] Array { get; }

    /// <summary>Bytes written so far, from the start of <see cref="Array"/>.</summary>
    public int End { get; private set; }

    /// <summary>Room left after <see cref="End"/>.</summary>
    public int Available => Array.Length - End;

    /// <summary>The unwritten rest of the buffer.</summary>
    public Memory<byte> FreeMemory => Array.AsMemory(End);

    /// <summary>The next segment of the chain, as a <see cref="BufferSegment"/>.</summary>
    public BufferSegment? NextSegment => (BufferSegment?)Next;

    Memory<byte> IMemoryOwner<byte>.Memory => Array;

    /// <summary>Counts <paramref name="bytes"/> more as written.</summary>
    public void Commit(int bytes)
    {
        End += bytes;
        Memory = Array.AsMemory(0, End);
    }

    /// <summary>Links <paramref name="next"/> after this segment (this one must not grow any more).</summary>
    public void SetNext(BufferSegment next)
    {
        next.RunningIndex = RunningIndex + End;
        Next = next;
    }

    /// <summary>Makes this the first segment of a new chain.</summary>
    public void ResetRunningIndex() => RunningIndex = 0;

    /// <summary>Gives the buffer back; the segment must not be used afterwards.</summary>
    public void Release()
    {
        Next = null;
        RunningIndex = 0;
        End = 0;
        Memory = default;
        if (_pool is not null)
        {
            _pool.Return(this);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(Array);
        }
    }

    /// <summary>Releases this segment and every one after it.</summary>
    public static void ReleaseChain(BufferSegment? segment)
    {
        while (segment is not null)
        {
            BufferSegment? next = segment.NextSegment;
            segment.Release();
            segment = next;
        }
    }

    void IDisposable.Dispose() => Release();
}
