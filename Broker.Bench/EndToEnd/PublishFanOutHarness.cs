using System.Buffers;
using Broker.Bench.Support;
using Broker.Core;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.EndToEnd;

/// <summary>
/// One publisher and <c>subscribers</c> subscribers on one topic of a real <see cref="MqttBroker"/>, each an MQTT 3.1.1
/// connection over in-memory pipes, and <see cref="Batch"/> pre-encoded PUBLISH frames (64-byte payload).
/// <see cref="PublishBatch"/> writes the frames to the publisher's pipe and returns when every subscriber has read all
/// the bytes it should get; QoS 1 subscribers PUBACK each delivery. The harness allocates nothing per batch (its pipes
/// take segments from <see cref="Broker.Transport.Buffers.BlockMemoryPool"/>), so what a benchmark's Allocated column
/// shows is the broker's. Shared by the end-to-end benchmarks.
/// </summary>
internal sealed class PublishFanOutHarness : IDisposable
{
    public const int Batch = 100;

    private readonly MqttBroker _broker;
    private readonly SemaphoreSlim _done = new(0);
    private readonly PipeConnection _publisher;
    private readonly PipeConnection[] _subscribers;
    private readonly byte[] _batch;
    private long _round;
    private int _remaining;

    public PublishFanOutHarness(MqttBroker broker, string topic, int subscribers, QualityOfService qos)
    {
        _broker = broker;
        _subscribers = new PipeConnection[subscribers];
        for (int i = 0; i < _subscribers.Length; i++)
        {
            _subscribers[i] = new PipeConnection(broker, OnSubscriberDone) { AckPublishes = qos != QualityOfService.AtMostOnce };
            _subscribers[i].Handshake($"sub-{i}", topic, qos);
        }

        _publisher = new PipeConnection(broker, static () => { });
        _publisher.Handshake("pub", null, qos);

        // 3.1.1 to 3.1.1 at the same QoS: each subscriber receives frames of exactly the published length (the broker
        // assigns its own packet identifiers, also two bytes).
        byte[] topicName = System.Text.Encoding.UTF8.GetBytes(topic);
        var output = new ArrayBufferWriter<byte>(Batch * 128);
        for (int i = 0; i < Batch; i++)
        {
            PacketEncoder.WritePublish(output, new OutgoingPublish
            {
                QoS = qos,
                PacketIdentifier = qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)(i + 1),
                TopicName = topicName,
                Payload = PacketFixtures.Payload,
            }, ProtocolVersion.V311);
        }

        _batch = output.WrittenSpan.ToArray();
    }

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

    /// <summary>Closes the connections and disposes the broker.</summary>
    public void Dispose()
    {
        _publisher.CloseAsync().GetAwaiter().GetResult();
        foreach (PipeConnection subscriber in _subscribers)
        {
            subscriber.CloseAsync().GetAwaiter().GetResult();
        }

        _broker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _done.Dispose();
    }

    private void OnSubscriberDone()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.Release();
        }
    }
}
