using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Channels;
using Broker.Core;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Tests.TestSupport;

/// <summary>
/// A raw MQTT client over in-memory pipes, served by <see cref="MqttBroker.RunConnectionAsync"/>. It sends exactly the
/// bytes a test gives it and decodes whatever the broker writes back, so tests assert the packets on the wire.
/// </summary>
public sealed class PipeClient : IAsyncDisposable
{
    /// <summary>How long a test waits for a packet it expects; generous, because CI machines are slow and shared.</summary>
    public static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(10);

    private readonly Pipe _toBroker = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _fromBroker = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Channel<object> _received = Channel.CreateUnbounded<object>();
    private readonly Task _readLoop;

    public PipeClient(MqttBroker broker, ProtocolVersion version = ProtocolVersion.V500, string listener = "mqtt:internal")
        : this(broker, version, new ConnectionInfo { ListenerName = listener })
    {
    }

    /// <summary>A connection the broker sees as coming from <paramref name="info"/> (addresses, listener).</summary>
    public PipeClient(MqttBroker broker, ProtocolVersion version, ConnectionInfo info)
        : this(broker, version, info, CancellationToken.None)
    {
    }

    /// <summary>A connection served with <paramref name="cancellationToken"/>, as a transport passes its own.</summary>
    public PipeClient(MqttBroker broker, ProtocolVersion version, ConnectionInfo info, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(info);
        Version = version;
        var transport = new DuplexPipe(_toBroker.Reader, _fromBroker.Writer);
        Served = Task.Run(() => broker.RunConnectionAsync(transport, info, cancellationToken), CancellationToken.None);
        _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
    }

    public ProtocolVersion Version { get; set; }

    /// <summary>Completes when the broker has finished serving this connection.</summary>
    public Task Served { get; }

    /// <summary>The CONNACK of the last <see cref="ConnectAsync(MqttBroker, string, ProtocolVersion, bool, Action{ConnectPacket}?)"/>.</summary>
    public ConnAckPacket? ConnAck { get; private set; }

    /// <summary>Connects and asserts CONNACK success.</summary>
    public static async Task<PipeClient> ConnectAsync(
        MqttBroker broker, string clientId, ProtocolVersion version = ProtocolVersion.V500, bool cleanStart = true, Action<ConnectPacket>? configure = null)
    {
        var client = new PipeClient(broker, version);
        var connect = new ConnectPacket { ClientId = clientId, ProtocolVersion = version, CleanStart = cleanStart, ProtocolName = version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT" };
        configure?.Invoke(connect);
        ConnAckPacket ack = await client.SendConnectAsync(connect);
        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Success), $"CONNACK of {clientId}");
        return client;
    }

    public async Task<ConnAckPacket> SendConnectAsync(ConnectPacket connect)
    {
        ArgumentNullException.ThrowIfNull(connect);
        await SendAsync(CodecDriver.Encode(output => PacketEncoder.WriteConnect(output, connect)));
        ConnAck = await ExpectAsync<ConnAckPacket>();
        return ConnAck;
    }

    public async Task SendAsync(byte[] bytes)
    {
        await _toBroker.Writer.WriteAsync(bytes);
    }

    public Task SendAsync(object packet) => SendAsync(CodecDriver.Encode(packet, Version));

    public Task PublishAsync(string topic, string payload, QualityOfService qos = QualityOfService.AtMostOnce, ushort packetId = 0, bool retain = false, byte[]? properties = null, bool dup = false)
        => PublishAsync(topic, Encoding.UTF8.GetBytes(payload), qos, packetId, retain, properties, dup);

    public Task PublishAsync(string topic, byte[] payload, QualityOfService qos = QualityOfService.AtMostOnce, ushort packetId = 0, bool retain = false, byte[]? properties = null, bool dup = false)
        => SendAsync(new PublishModel
        {
            TopicName = Encoding.UTF8.GetBytes(topic),
            Payload = payload,
            QoS = qos,
            PacketIdentifier = packetId,
            Retain = retain,
            Dup = dup,
            Properties = properties ?? [],
        });

    /// <summary>Sends SUBSCRIBE and returns the SUBACK reason codes.</summary>
    public async Task<List<ReasonCode>> SubscribeAsync(params TopicSubscription[] subscriptions)
    {
        ushort id = NextPacketId();
        await SendAsync(new SubscribePacket { PacketIdentifier = id, Subscriptions = [.. subscriptions] });
        SubAckPacket ack = await ExpectAsync<SubAckPacket>();
        Assert.That(ack.PacketIdentifier, Is.EqualTo(id), "SUBACK packet identifier");
        return ack.ReasonCodes;
    }

    public Task<List<ReasonCode>> SubscribeAsync(string filter, QualityOfService qos = QualityOfService.AtMostOnce)
        => SubscribeAsync(new TopicSubscription(filter, qos));

    /// <summary>Sends SUBSCRIBE carrying a v5 Subscription Identifier and returns the SUBACK reason codes.</summary>
    public async Task<List<ReasonCode>> SubscribeWithIdentifierAsync(int subscriptionIdentifier, params TopicSubscription[] subscriptions)
    {
        ushort id = NextPacketId();
        await SendAsync(new SubscribePacket
        {
            PacketIdentifier = id,
            Subscriptions = [.. subscriptions],
            Properties = new MqttProperties { SubscriptionIdentifiers = [subscriptionIdentifier] },
        });
        SubAckPacket ack = await ExpectAsync<SubAckPacket>();
        Assert.That(ack.PacketIdentifier, Is.EqualTo(id), "SUBACK packet identifier");
        return ack.ReasonCodes;
    }

    public async Task<List<ReasonCode>> UnsubscribeAsync(params string[] filters)
    {
        ushort id = NextPacketId();
        await SendAsync(new UnsubscribePacket { PacketIdentifier = id, TopicFilters = [.. filters] });
        UnsubAckPacket ack = await ExpectAsync<UnsubAckPacket>();
        Assert.That(ack.PacketIdentifier, Is.EqualTo(id), "UNSUBACK packet identifier");
        return ack.ReasonCodes;
    }

    public Task SendAckAsync(PacketType type, ushort packetId, ReasonCode reasonCode = ReasonCode.Success)
        => SendAsync(new PublishAckPacket(type, packetId, reasonCode));

    public Task DisconnectAsync(ReasonCode reasonCode = ReasonCode.NormalDisconnection)
        => SendAsync(new DisconnectPacket { ReasonCode = reasonCode });

    /// <summary>
    /// Sends a normal DISCONNECT (with a v5 Session Expiry Interval when given), asserts the broker closes without a
    /// packet, and waits until it has finished with the connection (session detached or ended).
    /// </summary>
    public async Task DisconnectAndWaitAsync(uint? sessionExpiry = null)
    {
        await SendAsync(new DisconnectPacket
        {
            ReasonCode = ReasonCode.NormalDisconnection,
            Properties = sessionExpiry is { } expiry ? new MqttProperties { SessionExpiryInterval = expiry } : null,
        });
        Assert.That(await ExpectClosedAsync(), Is.Null, "the broker answers a normal DISCONNECT by closing, without a packet");
    }

    /// <summary>Publishes and runs the publisher's side of the handshake to the end, so the message has been routed on return.</summary>
    public async Task PublishAndCompleteAsync(string topic, string payload, QualityOfService qos, ushort packetId)
    {
        await PublishAsync(topic, payload, qos, qos == QualityOfService.AtMostOnce ? (ushort)0 : packetId);
        if (qos == QualityOfService.AtLeastOnce)
        {
            await ExpectAckAsync(PacketType.PubAck, packetId);
        }
        else if (qos == QualityOfService.ExactlyOnce)
        {
            await ExpectAckAsync(PacketType.PubRec, packetId);
            await SendAckAsync(PacketType.PubRel, packetId);
            PublishAckPacket comp = await ExpectAckAsync(PacketType.PubComp, packetId);
            Assert.That(comp.ReasonCode, Is.EqualTo(ReasonCode.Success), "PUBCOMP reason code");
        }
    }

    /// <summary>Runs the subscriber's side of a delivery's handshake to the end.</summary>
    public async Task CompleteDeliveryAsync(PublishModel delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.QoS == QualityOfService.AtLeastOnce)
        {
            await SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        }
        else if (delivery.QoS == QualityOfService.ExactlyOnce)
        {
            await SendAckAsync(PacketType.PubRec, delivery.PacketIdentifier);
            await ExpectAckAsync(PacketType.PubRel, delivery.PacketIdentifier);
            await SendAckAsync(PacketType.PubComp, delivery.PacketIdentifier);
        }
    }

    /// <summary>Expects a PUBLISH and runs its handshake to the end.</summary>
    public async Task<PublishModel> ExpectPublishAndCompleteAsync(string topic, string? payload = null)
    {
        PublishModel publish = await ExpectPublishAsync(topic, payload);
        await CompleteDeliveryAsync(publish);
        return publish;
    }

    /// <summary>Closes the client's side of the connection without DISCONNECT (an abnormal close).</summary>
    public async Task DropAsync()
    {
        await _toBroker.Writer.CompleteAsync();
    }

    /// <summary>Drops the connection without DISCONNECT and waits until the broker has finished with it (will, session).</summary>
    public async Task DropAndWaitAsync()
    {
        await DropAsync();
        await Served.WaitAsync(ReceiveTimeout);
    }

    /// <summary>The next packet (PUBLISH as a <see cref="PublishModel"/>), or null when the broker closed the connection.</summary>
    public async Task<object?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? ReceiveTimeout);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (ChannelClosedException closed)
        {
            if (closed.InnerException is { } undecodable)
            {
                throw undecodable;
            }

            return null;
        }
        catch (OperationCanceledException)
        {
            throw new AssertionException($"No packet from the broker within {(timeout ?? ReceiveTimeout).TotalSeconds} s.");
        }
    }

    public async Task<T> ExpectAsync<T>()
    {
        object? packet = await ReceiveAsync();
        if (packet is T typed)
        {
            return typed;
        }

        throw new AssertionException($"Expected {typeof(T).Name} but got {(packet is null ? "the connection closed" : PacketDump.Of(packet))}.");
    }

    public async Task<PublishModel> ExpectPublishAsync(string topic, string? payload = null)
    {
        PublishModel publish = await ExpectAsync<PublishModel>();
        Assert.That(Encoding.UTF8.GetString(publish.TopicName), Is.EqualTo(topic), "PUBLISH topic");
        if (payload is not null)
        {
            Assert.That(Encoding.UTF8.GetString(publish.Payload), Is.EqualTo(payload), "PUBLISH payload");
        }

        return publish;
    }

    public async Task<PublishAckPacket> ExpectAckAsync(PacketType type, ushort packetId)
    {
        PublishAckPacket ack = await ExpectAsync<PublishAckPacket>();
        Assert.That(ack.Type, Is.EqualTo(type), "ack type");
        Assert.That(ack.PacketIdentifier, Is.EqualTo(packetId), "ack packet identifier");
        return ack;
    }

    /// <summary>
    /// Sends PINGREQ and asserts the very next packet is PINGRESP. The broker handles a connection's packets in order,
    /// so on return everything it did for the packets sent before (routing, counters) is done, and nothing was queued
    /// for this client in the meantime.
    /// </summary>
    public async Task PingAsync()
    {
        await SendAsync(PacketType.PingReq);
        object? packet = await ReceiveAsync();
        if (packet is not PacketType.PingResp)
        {
            throw new AssertionException($"Expected PINGRESP but got {(packet is null ? "the connection closed" : PacketDump.Of(packet))}.");
        }
    }

    /// <summary>
    /// The PUBLISH packets that arrive before the first one on <paramref name="markerTopic"/>, which is consumed. A
    /// connection's deliveries leave in order, so a marker published after the messages under test bounds what this
    /// client got without waiting on the clock. Fails on any other packet.
    /// </summary>
    public async Task<List<PublishModel>> ReceivePublishesUntilAsync(string markerTopic)
    {
        var received = new List<PublishModel>();
        while (true)
        {
            PublishModel publish = await ExpectAsync<PublishModel>();
            if (Encoding.UTF8.GetString(publish.TopicName) == markerTopic)
            {
                return received;
            }

            received.Add(publish);
        }
    }

    /// <summary>Asserts nothing arrives within <paramref name="wait"/> (a short real-time wait, for negative checks only).</summary>
    public async Task ExpectNothingAsync(TimeSpan? wait = null)
    {
        using var cts = new CancellationTokenSource(wait ?? TimeSpan.FromMilliseconds(200));
        try
        {
            if (await _received.Reader.WaitToReadAsync(cts.Token) && _received.Reader.TryPeek(out object? packet))
            {
                throw new AssertionException($"Expected nothing but got {PacketDump.Of(packet)}.");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Asserts the broker closes the connection; v5 connections must first get a DISCONNECT, returned here.</summary>
    public async Task<DisconnectPacket?> ExpectClosedAsync()
    {
        DisconnectPacket? disconnect = null;
        while (true)
        {
            object? packet = await ReceiveAsync();
            switch (packet)
            {
                case null:
                    await Served.WaitAsync(ReceiveTimeout);
                    return disconnect;
                case DisconnectPacket d:
                    disconnect = d;
                    break;
                default:
                    // Deliveries queued before the close may still arrive; the close is what matters here.
                    break;
            }
        }
    }

    /// <summary>
    /// Asserts the broker closes the connection with <paramref name="v5Reason"/> in its DISCONNECT for a v5 client, and
    /// with no DISCONNECT at all for 3.1/3.1.1, which have none from the server.
    /// </summary>
    public async Task ExpectClosedWithAsync(ReasonCode v5Reason)
    {
        DisconnectPacket? disconnect = await ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(Version == ProtocolVersion.V500 ? v5Reason : (ReasonCode?)null), "DISCONNECT reason code (none for 3.1/3.1.1)");
    }

    public async ValueTask DisposeAsync()
    {
        await _toBroker.Writer.CompleteAsync();
        try
        {
            await Served.WaitAsync(ReceiveTimeout);
        }
        catch (TimeoutException)
        {
        }

        await _readLoop;
    }

    private ushort _packetId;

    private ushort NextPacketId() => _packetId = (ushort)(_packetId % ushort.MaxValue + 1);

    private async Task ReadLoopAsync()
    {
        PipeReader reader = _fromBroker.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                List<object> packets = CodecDriver.DecodeAll(buffer, Version, out long consumed);
                foreach (object packet in packets)
                {
                    _received.Writer.TryWrite(CodecDriver.Normalize(packet));
                }

                reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is ProtocolException or InvalidOperationException)
        {
            _received.Writer.TryComplete(new AssertionException($"The broker wrote bytes the codec cannot decode: {ex.Message}"));
            return;
        }
        finally
        {
            await reader.CompleteAsync();
        }

        _received.Writer.TryComplete();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
