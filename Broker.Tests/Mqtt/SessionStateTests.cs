using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// What a session carries across connections [MQTT-4.1.0-1]: unacknowledged deliveries resent with DUP [MQTT-4.4.0-1]
/// within the new Receive Maximum, messages queued while offline (EMQX's mqueue: limit, QoS 0, expiry, order), incoming
/// QoS 2 awaiting PUBREL; and what it does not: topic aliases. Wills with a Will Delay Interval are in WillTests.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SessionStateTests
{
    private const uint SessionExpiry = 60;

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task UnackedQoS1_IsResentWithDupOnResume(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ResumeAsync(broker, "sub", version);
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s", "one", QualityOfService.AtLeastOnce, 1);
        PublishModel first = await sub.ExpectPublishAsync("s", "one");
        await sub.DropAndWaitAsync();

        PipeClient again = await ResumeAsync(broker, "sub", version);

        PublishModel resent = await again.ExpectPublishAsync("s", "one");
        Assert.That(resent.PacketIdentifier, Is.EqualTo(first.PacketIdentifier), "same packet identifier on redelivery");
        Assert.That(resent.Dup, Is.True, "[MQTT-3.3.1-1]");
        Assert.That(resent.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await again.SendAckAsync(PacketType.PubAck, resent.PacketIdentifier);
        await again.ExpectNothingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task ReceivedQoS2_PubRelIsResentOnResume(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ResumeAsync(broker, "sub", version);
        await sub.SubscribeAsync("s", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s", "two", QualityOfService.ExactlyOnce, 1);
        PublishModel delivery = await sub.ExpectPublishAsync("s", "two");
        await sub.SendAckAsync(PacketType.PubRec, delivery.PacketIdentifier);
        await sub.ExpectAckAsync(PacketType.PubRel, delivery.PacketIdentifier);
        await sub.DropAndWaitAsync();

        PipeClient again = await ResumeAsync(broker, "sub", version);

        // After PUBREC the broker resends PUBREL, never the PUBLISH [MQTT-4.3.3-5].
        await again.ExpectAckAsync(PacketType.PubRel, delivery.PacketIdentifier);
        await again.SendAckAsync(PacketType.PubComp, delivery.PacketIdentifier);
        await again.ExpectNothingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero);
    }

    [Test]
    public async Task Resume_InflightGoesFirstThenQueuedInOrder_WithoutReusingPacketIds()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ResumeAsync(broker);
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "m0", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PublishModel inflight = await sub.ExpectPublishAsync("s", "m0");
        await sub.DropAndWaitAsync();
        for (ushort i = 1; i <= 3; i++)
        {
            await pub.PublishAsync("s", $"m{i}", QualityOfService.AtLeastOnce, (ushort)(i + 1));
            await pub.ExpectAckAsync(PacketType.PubAck, (ushort)(i + 1));
        }

        PipeClient again = await ResumeAsync(broker);

        var ids = new HashSet<ushort>();
        for (int i = 0; i <= 3; i++)
        {
            PublishModel p = await again.ExpectPublishAsync("s", $"m{i}");
            Assert.That(p.Dup, Is.EqualTo(i == 0), $"m{i} DUP");
            Assert.That(ids.Add(p.PacketIdentifier), Is.True, $"m{i} has a packet identifier of its own");
        }

        Assert.That(ids, Does.Contain(inflight.PacketIdentifier));
    }

    [Test]
    public async Task Takeover_UnackedDeliveryIsResentToNewConnection()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ResumeAsync(broker);
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "one", QualityOfService.AtLeastOnce, 1);
        PublishModel first = await sub.ExpectPublishAsync("s", "one");

        PipeClient again = await ResumeAsync(broker);
        await sub.ExpectClosedAsync();

        PublishModel resent = await again.ExpectPublishAsync("s", "one");
        Assert.That(resent.PacketIdentifier, Is.EqualTo(first.PacketIdentifier));
        Assert.That(resent.Dup, Is.True);
    }

    [Test]
    public async Task Resume_TopicAliasesStartAfreshOnNewConnection()
    {
        await using var broker = new TestBroker();
        Action<ConnectPacket> aliases = c => c.Properties = new MqttProperties { SessionExpiryInterval = 60, TopicAliasMaximum = 5 };
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: aliases);
        await sub.SubscribeAsync("a/long/topic");
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("a/long/topic", "1");
        PublishModel one = await sub.ExpectPublishAsync("a/long/topic", "1");
        await pub.PublishAsync("a/long/topic", "2");
        PublishModel two = await sub.ExpectAsync<PublishModel>();
        Assert.That(one.TopicAlias, Is.Not.Zero);
        Assert.That(two.TopicName, Is.Empty, "the alias alone the second time");
        await sub.DisconnectAndWaitAsync();

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: aliases);
        await pub.PublishAsync("a/long/topic", "3");

        // Topic Alias mappings belong to one Network Connection [MQTT-3.3.2-7]: the topic is sent in full again.
        await again.ExpectPublishAsync("a/long/topic", "3");
    }

    [Test]
    public async Task Resume_QueuedDeliveriesRespectNewReceiveMaximum()
    {
        await using var broker = new TestBroker();
        await SubscribeThenGoOfflineAsync(broker, ProtocolVersion.V500, new TopicSubscription("s", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        for (ushort i = 1; i <= 5; i++)
        {
            await pub.PublishAndCompleteAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
        }

        PipeClient again = await broker.ConnectPersistentAsync("sub", sessionExpiry: SessionExpiry, configure: c => c.Properties = new MqttProperties { ReceiveMaximum = 2 });

        PublishModel m1 = await again.ExpectPublishAsync("s", "m1");
        PublishModel m2 = await again.ExpectPublishAsync("s", "m2");
        await again.ExpectNothingAsync();
        await again.SendAckAsync(PacketType.PubAck, m1.PacketIdentifier);
        PublishModel m3 = await again.ExpectPublishAsync("s", "m3");
        await again.SendAckAsync(PacketType.PubAck, m2.PacketIdentifier);
        await again.SendAckAsync(PacketType.PubAck, m3.PacketIdentifier);
        await again.ExpectPublishAsync("s", "m4");
        await again.ExpectPublishAsync("s", "m5");
    }

    [Test]
    public async Task Resume_UnackedBeyondNewReceiveMaximum_ResentAsWindowFrees()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ResumeAsync(broker);
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        var sent = new List<PublishModel>();
        for (ushort i = 1; i <= 3; i++)
        {
            await pub.PublishAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
            await pub.ExpectAckAsync(PacketType.PubAck, i);
            sent.Add(await sub.ExpectPublishAsync("s", $"m{i}"));
        }

        await sub.DropAndWaitAsync();

        PipeClient again = await broker.ConnectPersistentAsync("sub", sessionExpiry: SessionExpiry, configure: c => c.Properties = new MqttProperties { ReceiveMaximum = 1 });

        // The send quota starts afresh at the new Receive Maximum [MQTT-4.9.0-1]; redeliveries are PUBLISHes too [MQTT-3.3.4-7].
        for (int i = 0; i < 3; i++)
        {
            PublishModel resent = await again.ExpectPublishAsync("s", $"m{i + 1}");
            Assert.That(resent.Dup, Is.True);
            Assert.That(resent.PacketIdentifier, Is.EqualTo(sent[i].PacketIdentifier));
            await again.ExpectNothingAsync();
            await again.SendAckAsync(PacketType.PubAck, resent.PacketIdentifier);
        }

        await pub.PublishAsync("s", "m4", QualityOfService.AtLeastOnce, 4);
        await again.ExpectPublishAsync("s", "m4");
    }

    [Test]
    public async Task OfflineQueue_KeepsSubscriptionIdentifier()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ResumeAsync(broker);
        await sub.SubscribeWithIdentifierAsync(42, new TopicSubscription("s", QualityOfService.AtLeastOnce));
        await sub.DisconnectAndWaitAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("s", "x", QualityOfService.AtLeastOnce, 1);

        PipeClient again = await ResumeAsync(broker);

        PublishModel queued = await again.ExpectPublishAsync("s", "x");
        Assert.That(queued.SubscriptionIdentifiers, Is.EqualTo(new[] { 42 }), "[MQTT-3.3.4-3]");
    }

    // max_mqueue_len: a full queue drops its oldest message and counts it (EMQX's delivery.dropped.queue_full).
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task OfflineQueue_WhenFull_DropsOldest(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumQueueLength = 3);
        await SubscribeThenGoOfflineAsync(broker, version, new TopicSubscription("s", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        for (ushort i = 1; i <= 5; i++)
        {
            await pub.PublishAndCompleteAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
        }

        Session session = broker.Broker.Sessions.Find("sub")!;
        Assert.That(session.QueueLength, Is.EqualTo(3));
        Assert.That(session.QueueDropped, Is.EqualTo(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.EqualTo(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDropped), Is.EqualTo(2));

        PipeClient again = await ResumeAsync(broker, version);
        for (int i = 3; i <= 5; i++)
        {
            await again.ExpectPublishAndCompleteAsync("s", $"m{i}");
        }

        await again.ExpectNothingAsync();
    }

    // A full queue dropping a QoS 0 message counts it as delivery.dropped.qos0_msg, as EMQX does.
    [Test]
    public async Task OfflineQueue_Full_DroppedQoS0CountedAsQos0Msg()
    {
        await using var broker = new TestBroker(o => o.MaximumQueueLength = 2);
        await SubscribeThenGoOfflineAsync(broker, ProtocolVersion.V500, new TopicSubscription("q0", QualityOfService.AtMostOnce), new TopicSubscription("q1", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("q0", "a", QualityOfService.AtLeastOnce, 1);
        await pub.PublishAndCompleteAsync("q1", "b", QualityOfService.AtLeastOnce, 2);
        await pub.PublishAndCompleteAsync("q1", "c", QualityOfService.AtLeastOnce, 3);

        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.Zero);
        PipeClient again = await ResumeAsync(broker, ProtocolVersion.V500);
        await again.ExpectPublishAndCompleteAsync("q1", "b");
        await again.ExpectPublishAndCompleteAsync("q1", "c");
        await again.ExpectNothingAsync();
    }

    // More queued than the inflight window: delivered in order as the client acknowledges.
    [Test]
    public async Task OfflineQueue_LargerThanInflightWindow_DeliveredInOrder()
    {
        await using var broker = new TestBroker(o => o.MaximumInflight = 2);
        await SubscribeThenGoOfflineAsync(broker, ProtocolVersion.V311, new TopicSubscription("s", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        for (ushort i = 1; i <= 6; i++)
        {
            await pub.PublishAndCompleteAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
        }

        PipeClient again = await ResumeAsync(broker, ProtocolVersion.V311);
        for (int i = 1; i <= 6; i++)
        {
            await again.ExpectPublishAndCompleteAsync("s", $"m{i}");
        }

        await again.ExpectNothingAsync();
    }

    // mqueue_store_qos0 (default true): QoS 0 messages wait for an offline session too, or are dropped and counted.
    [TestCase(ProtocolVersion.V311, true)]
    [TestCase(ProtocolVersion.V311, false)]
    [TestCase(ProtocolVersion.V500, true)]
    [TestCase(ProtocolVersion.V500, false)]
    public async Task OfflineQueue_QoS0FollowsOption(ProtocolVersion version, bool queueQoS0)
    {
        await using var broker = new TestBroker(o => o.QueueQoS0Messages = queueQoS0);
        await SubscribeThenGoOfflineAsync(broker, version, new TopicSubscription("s", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "zero");
        await pub.PublishAndCompleteAsync("s", "one", QualityOfService.AtLeastOnce, 1);

        PipeClient again = await ResumeAsync(broker, version);

        if (queueQoS0)
        {
            PublishModel zero = await again.ExpectPublishAsync("s", "zero");
            Assert.That(zero.QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        }

        PublishModel one = await again.ExpectPublishAndCompleteAsync("s", "one");
        Assert.That(one.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await again.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.EqualTo(queueQoS0 ? 0 : 1));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDropped), Is.EqualTo(queueQoS0 ? 0 : 1));
    }

    [Test]
    public async Task OfflineQueue_MixedQoS_DeliveredInPublishOrder()
    {
        await using var broker = new TestBroker();
        await SubscribeThenGoOfflineAsync(broker, ProtocolVersion.V500, new TopicSubscription("s", QualityOfService.ExactlyOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "q0");
        await pub.PublishAsync("s", "q1", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await pub.PublishAsync("s", "q2", QualityOfService.ExactlyOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);
        await pub.SendAckAsync(PacketType.PubRel, 2);
        await pub.ExpectAckAsync(PacketType.PubComp, 2);
        await pub.PublishAsync("s", "q0 again");
        await pub.PublishAsync("s", "sync", QualityOfService.AtLeastOnce, 3);
        await pub.ExpectAckAsync(PacketType.PubAck, 3);

        PipeClient again = await ResumeAsync(broker);

        // An Ordered Topic keeps publish order [MQTT-4.6]; each message keeps the QoS it was published with.
        Assert.That((await again.ExpectPublishAsync("s", "q0")).QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        Assert.That((await again.ExpectPublishAsync("s", "q1")).QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That((await again.ExpectPublishAsync("s", "q2")).QoS, Is.EqualTo(QualityOfService.ExactlyOnce));
        Assert.That((await again.ExpectPublishAsync("s", "q0 again")).QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        await again.ExpectPublishAsync("s", "sync");
    }

    [Test]
    public async Task OfflineQueue_ExpiredMessageIsNotDelivered_LiveOneShowsRemainingLifetime()
    {
        await using var broker = new TestBroker();
        await SubscribeThenGoOfflineAsync(broker, ProtocolVersion.V500, new TopicSubscription("s", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.SendAsync(new PublishModel { TopicName = "s"u8.ToArray(), Payload = "short"u8.ToArray(), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 1, HasMessageExpiry = true, MessageExpiryInterval = 5 });
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await pub.SendAsync(new PublishModel { TopicName = "s"u8.ToArray(), Payload = "long"u8.ToArray(), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 2, HasMessageExpiry = true, MessageExpiryInterval = 20 });
        await pub.ExpectAckAsync(PacketType.PubAck, 2);

        broker.Advance(TimeSpan.FromSeconds(6));
        PipeClient again = await ResumeAsync(broker);

        PublishModel live = await again.ExpectPublishAsync("s", "long");
        Assert.That(live.HasMessageExpiry, Is.True);
        Assert.That(live.MessageExpiryInterval, Is.EqualTo(14), "the interval minus the time spent waiting [MQTT-3.3.2-6]");
        await again.SendAckAsync(PacketType.PubAck, live.PacketIdentifier);
        await again.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedExpired), Is.EqualTo(1));
    }

    [Test]
    public async Task IncomingQoS2_AwaitingPubRel_SurvivesReconnect()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("s", QualityOfService.AtMostOnce);
        PipeClient pub = await ResumeAsync(broker, "pub");
        await pub.PublishAsync("s", "once", QualityOfService.ExactlyOnce, 9);
        await pub.ExpectAckAsync(PacketType.PubRec, 9);
        await sub.ExpectPublishAsync("s", "once");
        await pub.DropAndWaitAsync();

        PipeClient again = await ResumeAsync(broker, "pub");
        Assert.That(again.ConnAck!.SessionPresent, Is.True);
        await again.PublishAsync("s", "once", QualityOfService.ExactlyOnce, 9, dup: true);
        await again.ExpectAckAsync(PacketType.PubRec, 9);
        await again.SendAckAsync(PacketType.PubRel, 9);
        PublishAckPacket comp = await again.ExpectAckAsync(PacketType.PubComp, 9);

        Assert.That(comp.ReasonCode, Is.EqualTo(ReasonCode.Success));
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task IncomingQoS2_CleanStart_ForgetsAwaitingPubRel()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await ResumeAsync(broker, "pub");
        await pub.PublishAsync("s", "once", QualityOfService.ExactlyOnce, 9);
        await pub.ExpectAckAsync(PacketType.PubRec, 9);
        await pub.DropAndWaitAsync();

        PipeClient again = await broker.ConnectAsync("pub", cleanStart: true);
        await again.SendAckAsync(PacketType.PubRel, 9);

        PublishAckPacket comp = await again.ExpectAckAsync(PacketType.PubComp, 9);
        Assert.That(comp.ReasonCode, Is.EqualTo(ReasonCode.PacketIdentifierNotFound));
    }

    [Test]
    public async Task KeepAliveTimeout_PersistentSessionIsKept()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: c =>
        {
            c.KeepAlive = 10;
            c.Properties = new MqttProperties { SessionExpiryInterval = 60 };
        });
        await client.SubscribeAsync("s", QualityOfService.AtLeastOnce);

        broker.Advance(TimeSpan.FromSeconds(16));

        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.KeepAliveTimeout));
        Assert.That(broker.Broker.Sessions.Find("c")?.IsConnected, Is.False);
        PipeClient again = await ResumeAsync(broker, "c");
        Assert.That(again.ConnAck!.SessionPresent, Is.True);
    }

    /// <summary>Resumes (or starts) the persistent session of <paramref name="clientId"/>.</summary>
    private static Task<PipeClient> ResumeAsync(TestBroker broker, string clientId = "sub", ProtocolVersion version = ProtocolVersion.V500)
        => broker.ConnectPersistentAsync(clientId, version, SessionExpiry);

    private static Task<PipeClient> ResumeAsync(TestBroker broker, ProtocolVersion version) => ResumeAsync(broker, "sub", version);

    /// <summary>Connects "sub" with a persistent session, subscribes, and disconnects, so what follows is queued.</summary>
    private static async Task SubscribeThenGoOfflineAsync(TestBroker broker, ProtocolVersion version, params TopicSubscription[] subscriptions)
    {
        PipeClient sub = await ResumeAsync(broker, version);
        await sub.SubscribeAsync(subscriptions);
        await sub.DisconnectAndWaitAsync();
    }
}
