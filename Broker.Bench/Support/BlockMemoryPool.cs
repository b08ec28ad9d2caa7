using System.Buffers;
using System.Collections.Concurrent;

namespace Broker.Bench.Support;

/// <summary>
/// Kestrel's PinnedBlockMemoryPool idea for the harness's pipes: 4 KiB blocks kept in a lock-free queue, never
/// dropped. Pipes created with the default <see cref="MemoryPool{T}.Shared"/> rent their segments from
/// <see cref="ArrayPool{T}.Shared"/>, which keeps only a few dozen arrays per size: with hundreds of connections holding
/// a segment each, returns overflow it and rents allocate, a cost of the transport's buffer pool, not of the broker.
/// </summary>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _blocks = new();

    public static BlockMemoryPool Instance { get; } = new();

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks are {BlockSize} bytes.");
        }

        return _blocks.TryDequeue(out Block? block) ? block : new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(BlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool._blocks.Enqueue(this);
    }
}
