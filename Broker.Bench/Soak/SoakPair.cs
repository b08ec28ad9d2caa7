using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Bench.Load;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Soak;

/// <summary>
/// A well-behaved publisher and subscriber on their own topic at QoS 1 or 2, v5. The publisher numbers its messages
/// (8-byte sequence at the start of the payload) and keeps at most 32 unacknowledged; the subscriber marks each sequence
/// received and completes each handshake. At the end every acknowledged sequence must have been received, and at QoS 2
/// none twice.
/// </summary>
internal sealed class SoakPair : IDisposable
{
    private const int Window = 32;

    private readonly MqttLoadConnection _publisher;
    private readonly MqttLoadConnection _subscriber;
    private readonly byte[] _topic;
    private readonly SequenceBitmap _acked = new();
    private readonly SequenceBitmap _received = new();
    private readonly long[] _pending = new long[65536];
    private readonly SemaphoreSlim _window = new(Window, Window);
    private readonly SemaphoreSlim _publisherSend = new(1, 1);
    private readonly Task _publisherReader;
    private readonly Task _subscriberReader;
    private long _sent;
    private long _ackedCount;
    private long _receivedCount;
    private long _duplicates;

    private SoakPair(MqttLoadConnection publisher, MqttLoadConnection subscriber, string topic, QualityOfService qos)
    {
        _publisher = publisher;
        _subscriber = subscriber;
        _topic = Encoding.UTF8.GetBytes(topic);
        QoS = qos;
        _publisherReader = Task.Run(ReadPublisherAsync);
        _subscriberReader = Task.Run(ReadSubscriberAsync);
    }

    public QualityOfService QoS { get; }

    public long Sent => Volatile.Read(ref _sent);

    public long Acked => Volatile.Read(ref _ackedCount);

    public long ReceivedCount => Volatile.Read(ref _receivedCount);

    public long Duplicates => Volatile.Read(ref _duplicates);

    /// <summary>Acknowledged to the publisher but never received by the subscriber.</summary>
    public long Lost => _acked.CountSetNotIn(_received, Sent);

    public static async Task<SoakPair> StartAsync(IPEndPoint endPoint, int index, QualityOfService qos, CancellationToken cancellationToken)
    {
        string topic = "soak/pair/" + index;
        MqttLoadConnection subscriber = await MqttLoadConnection.ConnectAsync(endPoint, "soak-pair-sub-" + index, ProtocolVersion.V500, 64 * 1024, 0, cancellationToken).ConfigureAwait(false);
        await subscriber.SubscribeAsync(topic, qos, cancellationToken).ConfigureAwait(false);
        MqttLoadConnection publisher = await MqttLoadConnection.ConnectAsync(endPoint, "soak-pair-pub-" + index, ProtocolVersion.V500, 16 * 1024, 0, cancellationToken).ConfigureAwait(false);
        return new SoakPair(publisher, subscriber, topic, qos);
    }

    public async Task RunPublisherAsync(int rate, CancellationToken cancellationToken)
    {
        byte[] payload = new byte[64];
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / rate));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
                long sequence = _sent;
                ushort packetId = (ushort)((sequence % 65535) + 1);
                Volatile.Write(ref _pending[packetId], sequence);
                BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
                byte[] packet = SoakCommand.Encode(w => PacketEncoder.WritePublish(w, new OutgoingPublish { QoS = QoS, TopicName = _topic, Payload = payload, PacketIdentifier = packetId }, ProtocolVersion.V500));
                await SendAsync(packet, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _sent, sequence + 1);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
        }
    }

    private async Task SendAsync(byte[] packet, CancellationToken cancellationToken)
    {
        await _publisherSend.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _publisher.SendAsync(packet, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _publisherSend.Release();
        }
    }

    private async Task ReadPublisherAsync()
    {
        try
        {
            while (await _publisher.ReceiveAsync(CancellationToken.None).ConfigureAwait(false) > 0)
            {
                while (_publisher.TryReadFrame(out FixedHeader header))
                {
                    PublishAckPacket ack = header.Type is PacketType.PubAck or PacketType.PubRec or PacketType.PubComp
                        ? PacketDecoder.DecodePublishAck(header, _publisher.Body(header), ProtocolVersion.V500)
                        : default;
                    _publisher.Consume(header);
                    if (header.Type == PacketType.PubRec)
                    {
                        await SendAsync(SoakCommand.Encode(w => PacketEncoder.WritePublishAck(w, PacketType.PubRel, ack.PacketIdentifier, ProtocolVersion.V500)), CancellationToken.None).ConfigureAwait(false);
                    }
                    else if (header.Type is PacketType.PubAck or PacketType.PubComp)
                    {
                        if ((int)ack.ReasonCode < 0x80 && _acked.TrySet(Volatile.Read(ref _pending[ack.PacketIdentifier])))
                        {
                            Interlocked.Increment(ref _ackedCount);
                        }

                        _window.Release();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or SemaphoreFullException)
        {
        }
    }

    private async Task ReadSubscriberAsync()
    {
        try
        {
            while (await _subscriber.ReceiveAsync(CancellationToken.None).ConfigureAwait(false) > 0)
            {
                while (_subscriber.TryReadFrame(out FixedHeader header))
                {
                    byte[]? reply = null;
                    if (header.Type == PacketType.Publish)
                    {
                        PublishPacket publish = PacketDecoder.DecodePublish(header, _subscriber.Body(header), ProtocolVersion.V500);
                        long sequence = BinaryPrimitives.ReadInt64LittleEndian(publish.Payload.FirstSpan);
                        if (_received.TrySet(sequence))
                        {
                            Interlocked.Increment(ref _receivedCount);
                        }
                        else if (!publish.Dup)
                        {
                            Interlocked.Increment(ref _duplicates);
                        }

                        ushort id = publish.PacketIdentifier;
                        reply = publish.QoS == QualityOfService.AtLeastOnce
                            ? SoakCommand.Encode(w => PacketEncoder.WritePublishAck(w, PacketType.PubAck, id, ProtocolVersion.V500))
                            : SoakCommand.Encode(w => PacketEncoder.WritePublishAck(w, PacketType.PubRec, id, ProtocolVersion.V500));
                    }
                    else if (header.Type == PacketType.PubRel)
                    {
                        ushort id = PacketDecoder.DecodePublishAck(header, _subscriber.Body(header), ProtocolVersion.V500).PacketIdentifier;
                        reply = SoakCommand.Encode(w => PacketEncoder.WritePublishAck(w, PacketType.PubComp, id, ProtocolVersion.V500));
                    }

                    _subscriber.Consume(header);
                    if (reply is not null)
                    {
                        await _subscriber.SendAsync(reply, CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _publisher.Abort();
        _subscriber.Abort();
        _window.Dispose();
        _publisherSend.Dispose();
    }
}
