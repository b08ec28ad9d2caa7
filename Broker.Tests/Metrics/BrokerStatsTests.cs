using Broker.Core.Metrics;

namespace Broker.Tests.Metrics;

[TestFixture]
public sealed class BrokerStatsTests
{
    // Copied from the GET /api/stats example body in spec/v4-http-api.md, in the example's order.
    private static readonly string[] s_specKeys =
    [
        "topics.max",
        "topics.count",
        "subscriptions.shared.max",
        "subscriptions.shared.count",
        "subscriptions.max",
        "subscriptions.count",
        "subscribers.max",
        "subscribers.count",
        "suboptions.max",
        "suboptions.count",
        "sessions.max",
        "sessions.count",
        "rules.max",
        "rules.count",
        "routes.max",
        "routes.count",
        "retained.max",
        "retained.count",
        "resources.max",
        "resources.count",
        "connections.max",
        "connections.count",
        "channels.max",
        "channels.count",
        "actions.max",
        "actions.count",
    ];

    // Copied from the GET api/v3/stats example body in spec/v3-rest-api.rst, minus sessions/persistent/* (no v4 stat).
    private static readonly string[] s_v3SpecKeys =
    [
        "subscriptions/shared/max", "subscriptions/max", "subscribers/max", "topics/count", "subscriptions/count",
        "topics/max", "connections/max", "subscriptions/shared/count", "retained/count", "routes/count",
        "sessions/count", "retained/max", "sessions/max", "routes/max", "subscribers/count", "connections/count",
    ];

    [Test]
    public void StatId_IsDenseAndMatchesCount()
    {
        StatId[] values = Enum.GetValues<StatId>();

        Assert.That(values, Has.Length.EqualTo(StatNames.Count));
        Assert.That(values.Select(v => (int)v), Is.EqualTo(Enumerable.Range(0, StatNames.Count)));
    }

    [Test]
    public void Snapshot_KeysAreExactlyTheSpecKeys()
    {
        var stats = new BrokerStats();

        Assert.That(stats.Snapshot().Select(p => p.Key), Is.EquivalentTo(s_specKeys));
        Assert.That(stats.Snapshot(v3Names: true).Select(p => p.Key), Is.SupersetOf(s_v3SpecKeys));
    }

    [TestCase(StatId.Connections, "connections", "connections.count", "connections.max", "connections/count")]
    [TestCase(StatId.SubscriptionsShared, "subscriptions.shared", "subscriptions.shared.count", "subscriptions.shared.max", "subscriptions/shared/count")]
    [TestCase(StatId.Actions, "actions", "actions.count", "actions.max", "actions/count")]
    public void StatNames_Forms(StatId id, string name, string count, string max, string v3Count)
    {
        Assert.That(StatNames.GetName(id), Is.EqualTo(name));
        Assert.That(StatNames.GetCountName(id), Is.EqualTo(count));
        Assert.That(StatNames.GetMaxName(id), Is.EqualTo(max));
        Assert.That(StatNames.GetCountName(id, v3Names: true), Is.EqualTo(v3Count));
        Assert.That(StatNames.TryParse(name, out StatId parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(id));
        Assert.That(StatNames.TryParse(name.Replace('.', '/'), out parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(id));
    }

    [TestCase("connections.count")] // suffixed keys are not gauge names
    [TestCase("Connections")]
    [TestCase("")]
    [TestCase(null)]
    public void StatNames_TryParse_Unknown_ReturnsFalse(string? name)
    {
        Assert.That(StatNames.TryParse(name, out _), Is.False);
    }

    [Test]
    public void IncrementDecrement_TracksCountAndHighWater()
    {
        var stats = new BrokerStats();

        stats.Increment(StatId.Connections);
        stats.Increment(StatId.Connections);
        stats.Increment(StatId.Connections);
        stats.Decrement(StatId.Connections);
        stats.Decrement(StatId.Connections);

        Assert.That(stats.GetCount(StatId.Connections), Is.EqualTo(1));
        Assert.That(stats.GetMax(StatId.Connections), Is.EqualTo(3));
        Assert.That(stats.GetCount(StatId.Sessions), Is.Zero);
        Assert.That(stats.GetMax(StatId.Sessions), Is.Zero);
    }

    [Test]
    public void Add_RaisesMaxOnlyWhenGrowing()
    {
        var stats = new BrokerStats();

        stats.Add(StatId.Subscriptions, 50);
        stats.Add(StatId.Subscriptions, -30);

        Assert.That(stats.GetCount(StatId.Subscriptions), Is.EqualTo(20));
        Assert.That(stats.GetMax(StatId.Subscriptions), Is.EqualTo(50));
    }

    [Test]
    public void Set_RaisesMaxButNeverLowersIt()
    {
        var stats = new BrokerStats();

        stats.Set(StatId.Retained, 3);
        stats.Set(StatId.Retained, 10);
        stats.Set(StatId.Retained, 4);

        Assert.That(stats.GetCount(StatId.Retained), Is.EqualTo(4));
        Assert.That(stats.GetMax(StatId.Retained), Is.EqualTo(10));
        Assert.That(() => stats.Set(StatId.Retained, -1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Max_UnderConcurrentIncrements_IsTheExactPeak()
    {
        const int threads = 8;
        const int perThread = 50_000;
        var stats = new BrokerStats();

        // Every increment happens before any decrement, so the peak is exactly threads * perThread.
        using var barrier = new Barrier(threads);
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            for (int i = 0; i < perThread; i++)
            {
                stats.Increment(StatId.Connections);
            }

            barrier.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                stats.Decrement(StatId.Connections);
            }
        });

        Assert.That(stats.GetCount(StatId.Connections), Is.Zero);
        Assert.That(stats.GetMax(StatId.Connections), Is.EqualTo((long)threads * perThread));
    }

    [Test]
    public void Max_UnderConcurrentChurn_StaysWithinThePossiblePeak()
    {
        const int threads = 8;
        var stats = new BrokerStats();

        // Each thread holds at most 2 connections at once, so the peak is between 2 and 2 * threads.
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            for (int i = 0; i < 50_000; i++)
            {
                stats.Increment(StatId.Sessions);
                stats.Increment(StatId.Sessions);
                stats.Decrement(StatId.Sessions);
                stats.Decrement(StatId.Sessions);
            }
        });

        Assert.That(stats.GetCount(StatId.Sessions), Is.Zero);
        Assert.That(stats.GetMax(StatId.Sessions), Is.InRange(2, 2 * threads));
    }

    [Test]
    public void Snapshot_PairsCountAndMax()
    {
        var stats = new BrokerStats();
        stats.Set(StatId.Actions, 5);
        stats.Increment(StatId.Retained);
        stats.Decrement(StatId.Retained);

        var snapshot = stats.Snapshot().ToDictionary(p => p.Key, p => p.Value);

        Assert.That(snapshot["actions.count"], Is.EqualTo(5));
        Assert.That(snapshot["actions.max"], Is.EqualTo(5));
        Assert.That(snapshot["retained.count"], Is.Zero);
        Assert.That(snapshot["retained.max"], Is.EqualTo(1));
    }

    [Test]
    public void UndefinedId_Throws()
    {
        var stats = new BrokerStats();

        Assert.That(() => stats.Increment((StatId)StatNames.Count), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => stats.GetMax((StatId)(-1)), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
