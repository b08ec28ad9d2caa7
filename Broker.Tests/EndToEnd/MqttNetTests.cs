using System.Buffers;
using System.Net.Sockets;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.EndToEnd;

/// <summary>
/// The broker over TCP against an independent client (MQTTnet 5), once per protocol version, and once more with the
/// listener's inline scheduling (read loop and send loop on the socket's thread).
/// </summary>
[TestFixture(MqttProtocolVersion.V311, false)]
[TestFixture(MqttProtocolVersion.V500, false)]
[TestFixture(MqttProtocolVersion.V500, true)]
[CancelAfter(20_000)]
public sealed class MqttNetTests(MqttProtocolVersion version, bool inlineScheduling)
{
    private NetClientScope _scope = null!;

    private ProtocolVersion BrokerVersion => version == MqttProtocolVersion.V500 ? ProtocolVersion.V500 : ProtocolVersion.V311;

    private TcpBroker Server => _scope.Broker;

    [SetUp]
    public async Task SetUp() => _scope = await NetClientScope.StartAsync(inlineScheduling);

    [TearDown]
    public async Task TearDown() => await _scope.DisposeAsync();

    [TestCase(MqttQualityOfServiceLevel.AtMostOnce)]
    [TestCase(MqttQualityOfServiceLevel.AtLeastOnce)]
    [TestCase(MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task Publish_ReachesSubscriber_ByteExactAtTheSameQoS(MqttQualityOfServiceLevel qos, CancellationToken cancellationToken)
    {
        NetClient sub = await ConnectAsync("sub", cancellationToken);
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await sub.SubscribeAsync("data/+", MqttQualityOfServiceLevel.ExactlyOnce, cancellationToken);
        // Every byte value, zeros included, and long enough for a two-byte remaining length.
        byte[] payload = new byte[777];
        new Random(20260101).NextBytes(payload);
        payload[0] = 0;

        await pub.PublishAsync("data/bin", payload, qos, cancellationToken);
        await pub.PublishAsync("data/empty", [], qos, cancellationToken);

        ReceivedMessage bin = await sub.ReceiveAsync(cancellationToken);
        ReceivedMessage empty = await sub.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(bin.Topic, Is.EqualTo("data/bin"));
            Assert.That(bin.Payload, Is.EqualTo(payload));
            Assert.That(bin.QoS, Is.EqualTo(qos));
            Assert.That(bin.Retain, Is.False);
            Assert.That(empty.Topic, Is.EqualTo("data/empty"));
            Assert.That(empty.Payload, Is.Empty);
            Assert.That(empty.QoS, Is.EqualTo(qos));
        }
    }

    [Test]
    public async Task Publish_PayloadOfManyBlocks_ReachesSubscriberByteExact(CancellationToken cancellationToken)
    {
        // 200 KB: received across dozens of pool blocks, encoded to the subscriber as one contiguous packet.
        NetClient sub = await ConnectAsync("sub", cancellationToken);
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await sub.SubscribeAsync("big/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        byte[] payload = new byte[200_000];
        new Random(5).NextBytes(payload);

        await pub.PublishAsync("big/1", payload, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await pub.PublishAsync("big/2", "small", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        ReceivedMessage big = await sub.ReceiveAsync(cancellationToken);
        ReceivedMessage small = await sub.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(big.Topic, Is.EqualTo("big/1"));
            Assert.That(big.Payload, Is.EqualTo(payload));
            Assert.That(small.Topic, Is.EqualTo("big/2"));
        }
    }

    [Test]
    public async Task Retained_ReachesALaterSubscriber_AndAnEmptyRetainedPublishClearsIt(CancellationToken cancellationToken)
    {
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await pub.PublishAsync("r/state", "kept", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, retain: true);

        NetClient late = await ConnectAsync("late", cancellationToken);
        await late.SubscribeAsync("r/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        ReceivedMessage retained = await late.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(retained.Topic, Is.EqualTo("r/state"));
            Assert.That(retained.PayloadText, Is.EqualTo("kept"));
            Assert.That(retained.Retain, Is.True);
            Assert.That(retained.QoS, Is.EqualTo(MqttQualityOfServiceLevel.AtLeastOnce));
        }

        await pub.PublishAsync("r/state", [], MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, retain: true);
        await Poll.UntilAsync(() => Server.Broker.Retained.Count == 0, cancellationToken);

        // A retained message would be sent on SUBSCRIBE, before anything published afterwards.
        NetClient later = await ConnectAsync("later", cancellationToken);
        await later.SubscribeAsync("r/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await pub.PublishAsync("r/marker", "after", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        ReceivedMessage first = await later.ReceiveAsync(cancellationToken);
        Assert.That(first.Topic, Is.EqualTo("r/marker"), "the cleared retained message must not be delivered");
    }

    [Test]
    public async Task Will_IsPublished_WhenTheSocketIsClosedWithoutDisconnect(CancellationToken cancellationToken)
    {
        NetClient watcher = await ConnectAsync("watcher", cancellationToken);
        await watcher.SubscribeAsync("will/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        using (TcpClient raw = await Server.ConnectRawAsync(cancellationToken))
        {
            NetworkStream stream = raw.GetStream();
            var will = new WillMessage { Topic = "will/raw"u8.ToArray(), Payload = "gone"u8.ToArray(), QoS = QualityOfService.AtLeastOnce };
            await stream.WriteAsync(RawMqtt.Connect("dying", BrokerVersion, will: will), cancellationToken);
            object? connAck = await RawMqtt.ReadPacketAsync(stream, BrokerVersion, cancellationToken);
            Assert.That(connAck, Is.InstanceOf<ConnAckPacket>().With.Property(nameof(ConnAckPacket.ReasonCode)).EqualTo(ReasonCode.Success));

            // Abrupt: an RST, no DISCONNECT.
            raw.Client.LingerState = new LingerOption(true, 0);
        }

        ReceivedMessage message = await watcher.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(message.Topic, Is.EqualTo("will/raw"));
            Assert.That(message.PayloadText, Is.EqualTo("gone"));
            Assert.That(message.QoS, Is.EqualTo(MqttQualityOfServiceLevel.AtLeastOnce));
        }
    }

    [Test]
    public async Task Will_IsNotPublished_OnNormalDisconnect(CancellationToken cancellationToken)
    {
        NetClient watcher = await ConnectAsync("watcher", cancellationToken);
        await watcher.SubscribeAsync("will/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        NetClient polite = await ConnectAsync("polite", cancellationToken, o => o
            .WithWillTopic("will/polite")
            .WithWillPayload("gone"u8.ToArray())
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));

        await polite.DisconnectAsync(cancellationToken);
        // The will would be published when the broker finishes closing, before the connection count drops.
        await Poll.UntilAsync(() => Server.Connections == 1 && !Server.IsConnected("polite"), cancellationToken);
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await pub.PublishAsync("will/marker", "after", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        ReceivedMessage first = await watcher.ReceiveAsync(cancellationToken);
        Assert.That(first.Topic, Is.EqualTo("will/marker"), "no will after a normal DISCONNECT");
    }

    [Test]
    public async Task SharedSubscription_DeliversEachMessageToExactlyOneMember(CancellationToken cancellationToken)
    {
        const int Count = 20;
        NetClient a = await ConnectAsync("member-a", cancellationToken);
        NetClient b = await ConnectAsync("member-b", cancellationToken);
        foreach (NetClient member in new[] { a, b })
        {
            await member.SubscribeAsync("$share/g/jobs/run", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            await member.SubscribeAsync("jobs/marker", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        }

        NetClient pub = await ConnectAsync("pub", cancellationToken);
        for (int i = 0; i < Count; i++)
        {
            await pub.PublishAsync("jobs/run", i.ToString(System.Globalization.CultureInfo.InvariantCulture), MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        }

        // Deliveries to one client keep their order, so the marker comes after every job it was given.
        await pub.PublishAsync("jobs/marker", "end", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        List<string> toA = await DrainUntilMarkerAsync(a, "jobs/marker", cancellationToken);
        List<string> toB = await DrainUntilMarkerAsync(b, "jobs/marker", cancellationToken);

        string[] expected = [.. Enumerable.Range(0, Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(toA.Concat(toB), Is.EquivalentTo(expected), "every job exactly once across the group");
            Assert.That(toA.Intersect(toB), Is.Empty);
        }
    }

    [Test]
    public async Task SameClientId_TakesTheSessionOver_AndTheFirstConnectionIsClosed(CancellationToken cancellationToken)
    {
        NetClient first = await ConnectAsync("twin", cancellationToken);
        NetClient second = await ConnectAsync("twin", cancellationToken);

        MqttClientDisconnectedEventArgs closed = await first.Disconnected.WaitAsync(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Client.IsConnected, Is.False);
            Assert.That(second.Client.IsConnected, Is.True);
            if (version == MqttProtocolVersion.V500)
            {
                Assert.That(closed.Reason, Is.EqualTo(MqttClientDisconnectReason.SessionTakenOver));
            }
        }

        // The survivor still works.
        await second.SubscribeAsync("twin/echo", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await second.PublishAsync("twin/echo", "still here", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        Assert.That((await second.ReceiveAsync(cancellationToken)).PayloadText, Is.EqualTo("still here"));
    }

    [Test]
    public async Task PersistentSession_QueuesQoS1WhileOffline_AndDeliversAfterReconnect(CancellationToken cancellationToken)
    {
        Action<MqttClientOptionsBuilder> persistent = version == MqttProtocolVersion.V500
            ? o => o.WithCleanStart(false).WithSessionExpiryInterval(300)
            : o => o.WithCleanSession(false);
        NetClient sub = await ConnectAsync("durable", cancellationToken, persistent);
        Assert.That(sub.ConnectResult.IsSessionPresent, Is.False, "first connect");
        await sub.SubscribeAsync("offline/+", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await sub.DisconnectAsync(cancellationToken);
        await Poll.UntilAsync(() => !Server.IsConnected("durable") && Server.Connections == 0, cancellationToken);

        NetClient pub = await ConnectAsync("pub", cancellationToken);
        for (int i = 0; i < 5; i++)
        {
            await pub.PublishAsync($"offline/{i}", $"m{i}", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        }

        NetClient again = await ConnectAsync("durable", cancellationToken, persistent);
        Assert.That(again.ConnectResult.IsSessionPresent, Is.True, "session present on reconnect");
        for (int i = 0; i < 5; i++)
        {
            ReceivedMessage message = await again.ReceiveAsync(cancellationToken);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(message.Topic, Is.EqualTo($"offline/{i}"));
                Assert.That(message.PayloadText, Is.EqualTo($"m{i}"));
                Assert.That(message.QoS, Is.EqualTo(MqttQualityOfServiceLevel.AtLeastOnce));
            }
        }
    }

    private static async Task<List<string>> DrainUntilMarkerAsync(NetClient client, string markerTopic, CancellationToken cancellationToken)
    {
        var payloads = new List<string>();
        while (true)
        {
            ReceivedMessage message = await client.ReceiveAsync(cancellationToken);
            if (message.Topic == markerTopic)
            {
                return payloads;
            }

            payloads.Add(message.PayloadText);
        }
    }

    private Task<NetClient> ConnectAsync(string clientId, CancellationToken cancellationToken, Action<MqttClientOptionsBuilder>? configure = null)
        => _scope.ConnectAsync(clientId, version, cancellationToken, configure);
}

/// <summary>What only MQTT 5 carries, end to end through MQTTnet.</summary>
[TestFixture]
[CancelAfter(20_000)]
public sealed class MqttNetV5Tests
{
    private NetClientScope _scope = null!;

    [SetUp]
    public async Task SetUp() => _scope = await NetClientScope.StartAsync();

    [TearDown]
    public async Task TearDown() => await _scope.DisposeAsync();

    [Test]
    public async Task RequestResponseProperties_ArriveIntact(CancellationToken cancellationToken)
    {
        NetClient sub = await ConnectAsync("sub", cancellationToken);
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await sub.SubscribeAsync("req/+", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        byte[] correlation = [0x00, 0xFF, 0x10, 0x80, 0x7F];

        await pub.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("req/1")
            .WithPayload("body"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/x-test; charset=utf-8")
            .WithResponseTopic("resp/client-7")
            .WithCorrelationData(correlation)
            .WithUserProperty("k", Utf8("v1"))
            .WithUserProperty("k", Utf8("v2"))
            .WithUserProperty("ünï", Utf8("çødé ✓"))
            .Build(), cancellationToken);

        ReceivedMessage message = await sub.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(message.PayloadText, Is.EqualTo("body"));
            Assert.That(message.ContentType, Is.EqualTo("application/x-test; charset=utf-8"));
            Assert.That(message.ResponseTopic, Is.EqualTo("resp/client-7"));
            Assert.That(message.CorrelationData, Is.EqualTo(correlation));
            // Order and repeats are preserved [MQTT-3.3.2-18].
            Assert.That(message.UserProperties, Is.EqualTo(new KeyValuePair<string, string>[] { new("k", "v1"), new("k", "v2"), new("ünï", "çødé ✓") }));
        }
    }

    [Test]
    public async Task SubscriptionIdentifier_ComesBackOnDelivery(CancellationToken cancellationToken)
    {
        NetClient sub = await ConnectAsync("sub", cancellationToken);
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await sub.SubscribeAsync("sid/+", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, subscriptionIdentifier: 4242);

        await pub.PublishAsync("sid/x", "hello", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        ReceivedMessage message = await sub.ReceiveAsync(cancellationToken);
        Assert.That(message.SubscriptionIdentifiers, Is.EqualTo(new uint[] { 4242 }));
    }

    [Test]
    public async Task TopicAlias_SetByTheClient_IsResolved(CancellationToken cancellationToken)
    {
        NetClient sub = await ConnectAsync("sub", cancellationToken);
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await sub.SubscribeAsync("alias/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        const string Topic = "alias/a/rather/long/topic/name";

        await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topic).WithTopicAlias(3).WithPayload("first"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
        // Alias only: an empty topic name [MQTT-3.3.2-12].
        await pub.PublishAsync(new MqttApplicationMessage
        {
            Topic = "",
            TopicAlias = 3,
            Payload = new ReadOnlySequence<byte>("second"u8.ToArray()),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
        }, cancellationToken);

        ReceivedMessage first = await sub.ReceiveAsync(cancellationToken);
        ReceivedMessage second = await sub.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Topic, Is.EqualTo(Topic));
            Assert.That(first.PayloadText, Is.EqualTo("first"));
            Assert.That(second.Topic, Is.EqualTo(Topic));
            Assert.That(second.PayloadText, Is.EqualTo("second"));
        }
    }

    [Test]
    public async Task TopicAlias_AssignedByTheBroker_TopicOnceThenAliasOnly(CancellationToken cancellationToken)
    {
        NetClient sub = await ConnectAsync("sub", cancellationToken, o => o.WithTopicAliasMaximum(5));
        NetClient pub = await ConnectAsync("pub", cancellationToken);
        await sub.SubscribeAsync("outbound/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        for (int i = 0; i < 3; i++)
        {
            await pub.PublishAsync("outbound/same/topic", $"m{i}", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        }

        // MQTTnet 5 hands inbound aliases to the application unresolved, so the mapping is checked here.
        ReceivedMessage first = await sub.ReceiveAsync(cancellationToken);
        Assert.That((first.Topic, first.PayloadText), Is.EqualTo(("outbound/same/topic", "m0")));
        Assert.That(first.TopicAlias, Is.InRange(1, 5), "alias within the client's Topic Alias Maximum [MQTT-3.1.2-26]");
        for (int i = 1; i < 3; i++)
        {
            ReceivedMessage next = await sub.ReceiveAsync(cancellationToken);
            Assert.That((next.Topic, next.TopicAlias, next.PayloadText), Is.EqualTo(("", first.TopicAlias, $"m{i}")));
        }
    }

    private static ReadOnlyMemory<byte> Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private Task<NetClient> ConnectAsync(string clientId, CancellationToken cancellationToken, Action<MqttClientOptionsBuilder>? configure = null)
        => _scope.ConnectAsync(clientId, MqttProtocolVersion.V500, cancellationToken, configure);
}
