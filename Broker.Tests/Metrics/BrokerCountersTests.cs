using System.Numerics;
using Broker.Core.Metrics;

namespace Broker.Tests.Metrics;

[TestFixture]
public sealed class BrokerCountersTests
{
    [Test]
    public void Layout_PartitionsAreWholeLinePairsWithALinePairOfSlack()
    {
        const int longsPerLinePair = 128 / sizeof(long);

        Assert.That(BrokerCounters.PartitionStride % longsPerLinePair, Is.Zero);
        Assert.That(BrokerCounters.PartitionStride - CounterNames.Count, Is.GreaterThanOrEqualTo(longsPerLinePair));
        Assert.That(BrokerCounters.LeadPad, Is.GreaterThanOrEqualTo(longsPerLinePair));
    }

    [Test]
    public void New_HasOnePartitionPerProcessorAndAllZero()
    {
        var counters = new BrokerCounters();

        Assert.That(counters.PartitionCount, Is.GreaterThanOrEqualTo(Environment.ProcessorCount).And.LessThan(2 * Environment.ProcessorCount));
        Assert.That(BitOperations.IsPow2(counters.PartitionCount), Is.True);
        Assert.That(counters.Snapshot().Select(p => p.Value), Is.All.Zero);
    }

    [Test]
    public void IncrementAndAdd_AreSummed()
    {
        var counters = new BrokerCounters();

        counters.Increment(CounterId.PacketsPublishReceived);
        counters.Increment(CounterId.PacketsPublishReceived);
        counters.Add(CounterId.BytesReceived, 1500);
        counters.Add(CounterId.BytesReceived, 12);

        Assert.That(counters.Get(CounterId.PacketsPublishReceived), Is.EqualTo(2));
        Assert.That(counters.Get(CounterId.BytesReceived), Is.EqualTo(1512));
        Assert.That(counters.Get(CounterId.PacketsPublishSent), Is.Zero);
    }

    [Test]
    public void Increment_FromManyThreads_SumsExactly()
    {
        const int threads = 8;
        const int perThread = 100_000;
        var counters = new BrokerCounters();

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            for (int i = 0; i < perThread; i++)
            {
                counters.Increment(CounterId.MessagesReceived);
                counters.Add(CounterId.BytesReceived, 3);
            }
        });

        Assert.That(counters.Get(CounterId.MessagesReceived), Is.EqualTo((long)threads * perThread));
        Assert.That(counters.Get(CounterId.BytesReceived), Is.EqualTo(3L * threads * perThread));
    }

    [Test]
    public void Increment_AcrossPartitions_SumsExactly()
    {
        // More partitions than cores exercises the mask and the sum over many partitions.
        var counters = new BrokerCounters(processors: 64);

        Parallel.For(0, 16, _ =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                counters.Increment(CounterId.PacketsSent);
            }
        });

        Assert.That(counters.Get(CounterId.PacketsSent), Is.EqualTo(160_000));
    }

    [Test]
    public void Partitions_DoNotOverlap_NeighbourCountersStayZero()
    {
        var counters = new BrokerCounters(processors: 3);
        Assert.That(counters.PartitionCount, Is.EqualTo(4));

        counters.Add(CounterId.SessionTerminated, 7); // the last counter of a partition
        counters.Add(CounterId.ActionsFailure, 5);    // the first

        long[] values = new long[CounterNames.Count];
        counters.CopyTo(values);
        Assert.That(values[(int)CounterId.SessionTerminated], Is.EqualTo(7));
        Assert.That(values[(int)CounterId.ActionsFailure], Is.EqualTo(5));
        Assert.That(values.Sum(), Is.EqualTo(12));
    }

    [TestCase(CounterId.MessagesRetained, true)]
    [TestCase(CounterId.MessagesDelayed, true)]
    [TestCase(CounterId.MessagesReceived, false)]
    [TestCase(CounterId.PacketsPublishReceived, false)]
    public void IsGauge_OnlyRetainedAndDelayed(CounterId id, bool expected)
    {
        Assert.That(BrokerCounters.IsGauge(id), Is.EqualTo(expected));
    }

    [Test]
    public void IsGauge_ExactlyTwoCounters()
    {
        Assert.That(Enum.GetValues<CounterId>().Where(BrokerCounters.IsGauge), Is.EquivalentTo(new[] { CounterId.MessagesRetained, CounterId.MessagesDelayed }));
    }

    [Test]
    public void Set_Gauge_OverwritesWhateverWasAdded()
    {
        var counters = new BrokerCounters();

        counters.Increment(CounterId.MessagesRetained);
        counters.Add(CounterId.MessagesRetained, 10);
        counters.Set(CounterId.MessagesRetained, 3);
        Assert.That(counters.Get(CounterId.MessagesRetained), Is.EqualTo(3));

        counters.Add(CounterId.MessagesRetained, -1);
        Assert.That(counters.Get(CounterId.MessagesRetained), Is.EqualTo(2));

        counters.Set(CounterId.MessagesRetained, 0);
        Assert.That(counters.Get(CounterId.MessagesRetained), Is.Zero);
    }

    [Test]
    public void Set_AfterConcurrentAdds_IsExact()
    {
        var counters = new BrokerCounters();

        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                counters.Increment(CounterId.MessagesDelayed);
                counters.Add(CounterId.MessagesDelayed, -1);
                counters.Increment(CounterId.MessagesDelayed);
            }
        });
        Assert.That(counters.Get(CounterId.MessagesDelayed), Is.EqualTo(80_000));

        counters.Set(CounterId.MessagesDelayed, 42);
        Assert.That(counters.Get(CounterId.MessagesDelayed), Is.EqualTo(42));
    }

    [Test]
    public void Set_EventCounter_Throws()
    {
        var counters = new BrokerCounters();

        Assert.That(() => counters.Set(CounterId.PacketsReceived, 1), Throws.ArgumentException);
    }

    [Test]
    public void UndefinedId_Throws()
    {
        var counters = new BrokerCounters();
        CounterId undefined = (CounterId)CounterNames.Count;

        Assert.That(() => counters.Increment(undefined), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => counters.Add((CounterId)(-1), 1), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => counters.Get(undefined), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void CopyTo_ShortDestination_Throws()
    {
        var counters = new BrokerCounters();

        Assert.That(() => counters.CopyTo(new long[CounterNames.Count - 1]), Throws.ArgumentException);
    }

    [Test]
    public void CopyTo_LongerDestination_LeavesTheRestAlone()
    {
        var counters = new BrokerCounters();
        counters.Increment(CounterId.ClientConnect);
        long[] values = new long[CounterNames.Count + 1];
        values[^1] = -7;

        counters.CopyTo(values);

        Assert.That(values[(int)CounterId.ClientConnect], Is.EqualTo(1));
        Assert.That(values[^1], Is.EqualTo(-7));
    }

    [Test]
    public void Snapshot_HasEveryNameInOrder()
    {
        var counters = new BrokerCounters();
        counters.Add(CounterId.PacketsConnectReceived, 13);
        counters.Set(CounterId.MessagesRetained, 3);

        IReadOnlyList<KeyValuePair<string, long>> v4 = counters.Snapshot();
        IReadOnlyList<KeyValuePair<string, long>> v3 = counters.Snapshot(v3Names: true);

        Assert.That(v4.Select(p => p.Key), Is.EqualTo(Enum.GetValues<CounterId>().Select(CounterNames.GetName)));
        Assert.That(v3.Select(p => p.Key), Is.EqualTo(Enum.GetValues<CounterId>().Select(CounterNames.GetV3Name)));
        Assert.That(v4[(int)CounterId.PacketsConnectReceived], Is.EqualTo(KeyValuePair.Create("packets.connect.received", 13L)));
        Assert.That(v3[(int)CounterId.PacketsConnectReceived], Is.EqualTo(KeyValuePair.Create("packets/connect", 13L)));
        Assert.That(v4[(int)CounterId.MessagesRetained], Is.EqualTo(KeyValuePair.Create("messages.retained", 3L)));
    }

    [Test]
    public void Increment_AllocatesNothing()
    {
        var counters = new BrokerCounters();
        // Warm up past tier-0 so the measured loop runs the code the broker runs.
        for (int i = 0; i < 1_000; i++)
        {
            IncrementMany(counters, 100);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        IncrementMany(counters, 10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);
        Assert.That(counters.Get(CounterId.PacketsPublishReceived), Is.EqualTo(110_000));
    }

    private static void IncrementMany(BrokerCounters counters, int count)
    {
        for (int i = 0; i < count; i++)
        {
            counters.Increment(CounterId.PacketsPublishReceived);
            counters.Add(CounterId.BytesReceived, 64);
            counters.Increment(CounterId.MessagesRetained);
        }
    }
}
