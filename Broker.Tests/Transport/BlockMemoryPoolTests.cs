using System.Buffers;
using Broker.Transport.Buffers;

namespace Broker.Tests.Transport;

public sealed class BlockMemoryPoolTests
{
    [Test]
    public void AReturnedBlock_IsRentedAgain_WithoutAllocating()
    {
        var pool = new BlockMemoryPool();
        IMemoryOwner<byte> first = pool.Rent();
        Memory<byte> memory = first.Memory;
        first.Dispose();

        using IMemoryOwner<byte> second = pool.Rent(100);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(second, Is.SameAs(first));
            Assert.That(second.Memory.Length, Is.EqualTo(BlockMemoryPool.BlockSize));
            Assert.That(second.Memory.Equals(memory), Is.True);
            Assert.That(pool.RetainedBlocks, Is.Zero);
        }
    }

    [Test]
    public void BlocksReturnedBeyondTheCap_AreLeftToTheGC()
    {
        var pool = new BlockMemoryPool(maxRetainedBlocks: 2);
        IMemoryOwner<byte>[] rented = [pool.Rent(), pool.Rent(), pool.Rent()];
        foreach (IMemoryOwner<byte> block in rented)
        {
            block.Dispose();
        }

        Assert.That(pool.RetainedBlocks, Is.EqualTo(2));
    }

    [Test]
    public void ARequestLargerThanABlock_IsRefused()
        => Assert.That(() => new BlockMemoryPool().Rent(BlockMemoryPool.BlockSize + 1), Throws.TypeOf<ArgumentOutOfRangeException>());
}
