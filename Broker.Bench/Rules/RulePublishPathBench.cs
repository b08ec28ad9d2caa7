using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Broker.Bench.EndToEnd;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Protocol;

namespace Broker.Bench.Rules;

/// <summary>
/// What the rule engine costs the publish path: the <see cref="InMemoryPublishFanOutBench"/> set-up (a real broker,
/// one publisher and one QoS 0 subscriber over in-memory pipes, 100 PUBLISH frames per invocation) with no rule, and
/// with <see cref="Rules"/> rules whose FROM filters (<c>rules/{i}/+/#</c> and <c>$events/client_connected</c>) never
/// match the published topic. A non-matching rule costs one walk of the rules' topic trie, which allocates nothing:
/// the Allocated column should read <c>-</c> in both rows.
/// </summary>
/// <remarks>Time is per published message (and per delivery, with one subscriber).</remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: everything is disposed in [GlobalCleanup].")]
public class RulePublishPathBench
{
    private PublishFanOutHarness _harness = null!;

    [Params(0, 100)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var broker = new MqttBroker(new BrokerOptions { SysTopicsEnabled = false });
        using JsonDocument noParams = JsonDocument.Parse("{}");
        for (int i = 0; i < Rules; i++)
        {
            string sql = i % 10 == 9
                ? """SELECT clientid FROM "$events/client_connected" WHERE clientid = 'nobody'"""
                : $"""SELECT payload.x AS x FROM "rules/{i}/+/#" WHERE x > 10""";
            broker.Rules.CreateRule(null, sql, [("do_nothing", noParams.RootElement)], null);
        }

        _harness = new PublishFanOutHarness(broker, "bench/rules/topic", subscribers: 1, QualityOfService.AtMostOnce);
    }

    [GlobalCleanup]
    public void Cleanup() => _harness.Dispose();

    [Benchmark(OperationsPerInvoke = PublishFanOutHarness.Batch)]
    public void PublishBatch() => _harness.PublishBatch();
}
