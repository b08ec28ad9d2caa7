using System.Buffers;
using System.Collections.Concurrent;

namespace Broker.Transport.Buffers;

/// <summary>
/// The connections' buffers: 4 KiB pinned blocks kept in a lock-free queue (Kestrel's PinnedBlockMemoryPool).
/// Pipes created with the default <see cref="MemoryPool{T}.Shared"/> rent from <see cref="ArrayPool{T}.Shared"/>, which
/// keeps only a few dozen arrays per size and core: with hundreds of busy connections holding a segment each, returns
/// overflow it and every rent allocates. This pool keeps what is returned, up to <see cref="MaxRetainedBlocks"/>, so a
/// steady load allocates nothing and a burst's surplus goes back to the GC.
/// </summary>
/// <remarks>
/// A block is also a <see cref="ReadOnlySequenceSegment{T}"/> (<see cref="BufferSegment"/>): the socket transport
/// chains blocks into sequences directly, with no segment object of its own to pool.
/// </remarks>
public sealed class BlockMemoryPool : MemoryPool<byte>
{
    /// <summary>Block size, the pipes' default minimum segment size.</summary>
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<BufferSegment> _blocks = new();
    private int _retained;

    /// <param name="maxRetainedBlocks">Blocks kept for reuse at most; 16,384 (64 MiB) by default.</param>
    public BlockMemoryPool(int maxRetainedBlocks = 16_384)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetainedBlocks);
        MaxRetainedBlocks = maxRetainedBlocks;
    }

    /// <summary>The process-wide pool the listeners use.</summary>
    public static BlockMemoryPool Instance { get; } = new();

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks kept for reuse at most; a block returned beyond that is left to the GC.</summary>
    public int MaxRetainedBlocks { get; }

    /// <summary>Blocks waiting for reuse now.</summary>
    public int RetainedBlocks => Volatile.Read(ref _retained);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks are {BlockSize} bytes.");
        }

        return RentSegment();
    }

    /// <summary>An empty block as a sequence segment; <see cref="BufferSegment.Release"/> gives it back.</summary>
    internal BufferSegment RentSegment()
    {
        if (_blocks.TryDequeue(out BufferSegment? block))
        {
            Interlocked.Decrement(ref _retained);
            return block;
        }

        return new BufferSegment(GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true), this);
    }

    protected override void Dispose(bool disposing)
    {
    }

    internal void Return(BufferSegment block)
    {
        if (Interlocked.Increment(ref _retained) <= MaxRetainedBlocks)
        {
            _blocks.Enqueue(block);
            return;
        }

        Interlocked.Decrement(ref _retained);
    }
}
