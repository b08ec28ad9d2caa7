using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Broker.Bench.Support;
using Broker.Core;
using Broker.Core.Codec;
using Broker.Core.Configuration;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.EndToEnd;

/// <summary>
/// The whole publish path in one process (Garnet's embedded idea): a real <see cref="MqttBroker"/>, one publisher and
/// <see cref="Subscribers"/> subscribers on <c>bench/fanout/topic</c>, each an MQTT 3.1.1 connection over in-memory
/// pipes. An invocation writes <see cref="Batch"/> pre-encoded PUBLISH frames (64-byte payload) to the publisher's pipe
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
    private const int Batch = 100;
    private const string Topic = "bench/fanout/topic";

    private readonly SemaphoreSlim _done = new(0);
    private MqttBroker _broker = null!;
    private PipeConnection _publisher = null!;
    private PipeConnection[] _subscribers = [];
    private byte[] _batch = [];
    private long _round;
    private int _remaining;

    [Params(1, 100)]
    public int Subscribers { get; set; }

    [Params(QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce)]
    public QualityOfService QoS { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _broker = new MqttBroker(new BrokerOptions { SysTopicsEnabled = false });
        _subscribers = new PipeConnection[Subscribers];
        for (int i = 0; i < _subscribers.Length; i++)
        {
            _subscribers[i] = new PipeConnection(_broker, OnSubscriberDone) { AckPublishes = QoS != QualityOfService.AtMostOnce };
            _subscribers[i].Handshake($"sub-{i}", Topic, QoS);
        }

        _publisher = new PipeConnection(_broker, static () => { });
        _publisher.Handshake("pub", null, QoS);

        // 3.1.1 to 3.1.1 at the same QoS: each subscriber receives frames of exactly the published length (the broker
        // assigns its own packet identifiers, also two bytes).
        var output = new ArrayBufferWriter<byte>(Batch * 128);
        for (int i = 0; i < Batch; i++)
        {
            PacketEncoder.WritePublish(output, new OutgoingPublish
            {
                QoS = QoS,
                PacketIdentifier = QoS == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)(i + 1),
                TopicName = "bench/fanout/topic"u8,
                Payload = PacketFixtures.Payload,
            }, ProtocolVersion.V311);
        }

        _batch = output.WrittenSpan.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _publisher.CloseAsync().GetAwaiter().GetResult();
        foreach (PipeConnection subscriber in _subscribers)
        {
            subscriber.CloseAsync().GetAwaiter().GetResult();
        }

        _broker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _done.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void PublishBatch()
    {
        long target = ++_round * _batch.Length;
        Volatile.Write(ref _remaining, _subscribers.Length);
        foreach (PipeConnection subscriber in _subscribers)
        {
            subscriber.SetTarget(target);
        }

        _publisher.Send(_batch);
        if (!_done.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"Round {_round}: {Volatile.Read(ref _remaining)} subscribers still short of {target} bytes.");
        }
    }

    private void OnSubscriberDone()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.Release();
        }
    }
}
