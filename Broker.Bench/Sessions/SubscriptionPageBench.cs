using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Core.Snapshots;

namespace Broker.Bench.Sessions;

/// <summary>
/// The management API's <c>/subscriptions?_page=N&amp;_limit=20</c> without HTTP: one page of 20 out of
/// <see cref="Subscriptions"/> subscriptions held by 20,000 sessions, first and deep (page 10,000 of 200,000), against
/// building every row as a filtered query must (<see cref="MqttBroker.GetSubscriptions()"/>). A deep page walks the
/// session table by subscription counts and copies only its own rows.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: the broker is disposed in [GlobalCleanup].")]
public class SubscriptionPageBench
{
    private const int Sessions = 20_000;
    private const int Limit = 20;

    private readonly MqttBroker _broker = new(new BrokerOptions { SysTopicsEnabled = false });

    [Params(200_000)]
    public int Subscriptions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        DateTimeOffset now = DateTimeOffset.UnixEpoch;
        int perSession = Subscriptions / Sessions;
        for (int s = 0; s < Sessions; s++)
        {
            string clientId = $"sensor-client-{s:D6}";
            _broker.Sessions.Set(new Session(_broker, clientId, now));
            for (int i = 0; i < perSession; i++)
            {
                _broker.Subscribe(clientId, $"site/{s}/sensor/{i}/#", QualityOfService.AtLeastOnce);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _broker.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public int FirstPage() => _broker.GetSubscriptionsPage(0, Limit, out _).Count;

    [Benchmark]
    public int Page10000() => _broker.GetSubscriptionsPage((10_000L - 1) * Limit, Limit, out _).Count;

    [Benchmark]
    public int EveryRow()
    {
        IReadOnlyList<SubscriptionSnapshot> all = _broker.GetSubscriptions();
        return all.Count;
    }
}
