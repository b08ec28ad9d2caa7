using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Broker.Bench.EndToEnd;
using Broker.Bench.Support;
using Broker.Core;
using Broker.Core.Codec;
using Broker.Core.Configuration;
using Broker.Core.Packets;
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
    private const int Batch = 100;
    private const string Topic = "bench/rules/topic";

    private readonly SemaphoreSlim _done = new(0);
    private MqttBroker _broker = null!;
    private PipeConnection _publisher = null!;
    private PipeConnection _subscriber = null!;
    private byte[] _batch = [];
    private long _round;

    [Params(0, 100)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _broker = new MqttBroker(new BrokerOptions { SysTopicsEnabled = false });
        using JsonDocument noParams = JsonDocument.Parse("{}");
        for (int i = 0; i < Rules; i++)
        {
            string sql = i % 10 == 9
                ? """SELECT clientid FROM "$events/client_connected" WHERE clientid = 'nobody'"""
                : $"""SELECT payload.x AS x FROM "rules/{i}/+/#" WHERE x > 10""";
            _broker.Rules.CreateRule(null, sql, [("do_nothing", noParams.RootElement)], null);
        }

        _subscriber = new PipeConnection(_broker, () => _done.Release());
        _subscriber.Handshake("sub", Topic, QualityOfService.AtMostOnce);
        _publisher = new PipeConnection(_broker, static () => { });
        _publisher.Handshake("pub", null, QualityOfService.AtMostOnce);

        var output = new ArrayBufferWriter<byte>(Batch * 128);
        for (int i = 0; i < Batch; i++)
        {
            PacketEncoder.WritePublish(output, new OutgoingPublish
            {
                QoS = QualityOfService.AtMostOnce,
                TopicName = "bench/rules/topic"u8,
                Payload = PacketFixtures.Payload,
            }, ProtocolVersion.V311);
        }

        _batch = output.WrittenSpan.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _publisher.CloseAsync().GetAwaiter().GetResult();
        _subscriber.CloseAsync().GetAwaiter().GetResult();
        _broker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _done.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void PublishBatch()
    {
        long target = ++_round * _batch.Length;
        _subscriber.SetTarget(target);
        _publisher.Send(_batch);
        if (!_done.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"Round {_round}: the subscriber is still short of {target} bytes.");
        }
    }
}
