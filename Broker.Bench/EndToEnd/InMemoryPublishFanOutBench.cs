using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Protocol;

namespace Broker.Bench.EndToEnd;

/// <summary>
/// The whole publish path in one process (Garnet's embedded idea): a real <see cref="MqttBroker"/>, one publisher and
/// <see cref="Subscribers"/> subscribers on <c>bench/fanout/topic</c>, each an MQTT 3.1.1 connection over in-memory
/// pipes (<see cref="PublishFanOutHarness"/>). An invocation writes 100 pre-encoded PUBLISH frames (64-byte payload) to the publisher's pipe
/// and returns when every subscriber has read all the bytes it should get; QoS 1 subscribers PUBACK each delivery.
/// </summary>
/// <remarks>
/// Time and allocation are per published message: divide by <see cref="Subscribers"/> for a delivery
/// (1 µs/op with 100 subscribers = 1 M messages in and 100 M deliveries out per second). The harness allocates
/// nothing per invocation (its pipes take segments from <see cref="Broker.Transport.Buffers.BlockMemoryPool"/>, as a transport with its
/// own block pool would), so the Allocated column is the broker's: <c>-</c> since client messages are pooled.
/// </remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: everything is disposed in [GlobalCleanup].")]
public class InMemoryPublishFanOutBench
{
    private PublishFanOutHarness _harness = null!;

    [Params(1, 100)]
    public int Subscribers { get; set; }

    [Params(QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce)]
    public QualityOfService QoS { get; set; }

    [GlobalSetup]
    public void Setup()
        => _harness = new PublishFanOutHarness(new MqttBroker(new BrokerOptions { SysTopicsEnabled = false }), "bench/fanout/topic", Subscribers, QoS);

    [GlobalCleanup]
    public void Cleanup() => _harness.Dispose();

    [Benchmark(OperationsPerInvoke = PublishFanOutHarness.Batch)]
    public void PublishBatch() => _harness.PublishBatch();
}
