using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// What a session carries across connections [MQTT-4.1.0-1]: unacknowledged deliveries resent with DUP [MQTT-4.4.0-1],
/// messages queued while offline (EMQX's mqueue: limit, QoS 0, expiry), incoming QoS 2 awaiting PUBREL, and the will
/// with its Will Delay Interval [MQTT-3.1.3-9].
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SessionStateTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task UnackedQoS1_IsResentWithDupOnResume(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version, cleanStart: false, configure: SessionLifecycleTests.Expiry(version, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s", "one", QualityOfService.AtLeastOnce, 1);
        PublishModel first = await sub.ExpectPublishAsync("s", "one");
        await sub.DropAsync();
        await sub.ExpectClosedAsync();

        PipeClient again = await broker.ConnectAsync("sub", version, cleanStart: false, configure: SessionLifecycleTests.Expiry(version, 60));

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
        PipeClient sub = await broker.ConnectAsync("sub", version, cleanStart: false, configure: SessionLifecycleTests.Expiry(version, 60));
        await sub.SubscribeAsync("s", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s", "two", QualityOfService.ExactlyOnce, 1);
        PublishModel delivery = await sub.ExpectPublishAsync("s", "two");
        await sub.SendAckAsync(PacketType.PubRec, delivery.PacketIdentifier);
        await sub.ExpectAckAsync(PacketType.PubRel, delivery.PacketIdentifier);
        await sub.DropAsync();
        await sub.ExpectClosedAsync();

        PipeClient again = await broker.ConnectAsync("sub", version, cleanStart: false, configure: SessionLifecycleTests.Expiry(version, 60));

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
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "m0", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PublishModel inflight = await sub.ExpectPublishAsync("s", "m0");
        await sub.DropAsync();
        await sub.ExpectClosedAsync();
        for (ushort i = 1; i <= 3; i++)
        {
            await pub.PublishAsync("s", $"m{i}", QualityOfService.AtLeastOnce, (ushort)(i + 1));
            await pub.ExpectAckAsync(PacketType.PubAck, (ushort)(i + 1));
        }

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));

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
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "one", QualityOfService.AtLeastOnce, 1);
        PublishModel first = await sub.ExpectPublishAsync("s", "one");

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
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
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: aliases);
        await pub.PublishAsync("a/long/topic", "3");

        // Topic Alias mappings belong to one Network Connection [MQTT-3.3.2-7]: the topic is sent in full again.
        await again.ExpectPublishAsync("a/long/topic", "3");
    }

    [Test]
    public async Task OfflineQueue_KeepsSubscriptionIdentifier()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SendAsync(new SubscribePacket
        {
            PacketIdentifier = 1,
            Subscriptions = [new TopicSubscription("s", QualityOfService.AtLeastOnce)],
            Properties = new MqttProperties { SubscriptionIdentifiers = [42] },
        });
        await sub.ExpectAsync<SubAckPacket>();
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "x", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));

        PublishModel queued = await again.ExpectPublishAsync("s", "x");
        Assert.That(queued.SubscriptionIdentifiers, Is.EqualTo(new[] { 42 }), "[MQTT-3.3.4-3]");
    }

    [Test]
    public async Task Resume_QueuedDeliveriesRespectNewReceiveMaximum()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        for (ushort i = 1; i <= 5; i++)
        {
            await pub.PublishAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
            await pub.ExpectAckAsync(PacketType.PubAck, i);
        }

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 60, ReceiveMaximum = 2 });

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
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        var sent = new List<PublishModel>();
        for (ushort i = 1; i <= 3; i++)
        {
            await pub.PublishAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
            await pub.ExpectAckAsync(PacketType.PubAck, i);
            sent.Add(await sub.ExpectPublishAsync("s", $"m{i}"));
        }

        await sub.DropAsync();
        await sub.ExpectClosedAsync();

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 60, ReceiveMaximum = 1 });

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
    public async Task OfflineQueue_WhenFull_DropsOldest()
    {
        await using var broker = new TestBroker(o => o.MaximumQueueLength = 3);
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        for (ushort i = 1; i <= 5; i++)
        {
            await pub.PublishAsync("s", $"m{i}", QualityOfService.AtLeastOnce, i);
            await pub.ExpectAckAsync(PacketType.PubAck, i);
        }

        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.EqualTo(2));
        Assert.That(broker.Broker.Sessions.Find("sub")!.QueueLength, Is.EqualTo(3));

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        for (int i = 3; i <= 5; i++)
        {
            PublishModel p = await again.ExpectPublishAsync("s", $"m{i}");
            await again.SendAckAsync(PacketType.PubAck, p.PacketIdentifier);
        }

        await again.ExpectNothingAsync();
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task OfflineQueue_QoS0FollowsOption(bool queueQoS0)
    {
        await using var broker = new TestBroker(o => o.QueueQoS0Messages = queueQoS0);
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "zero");
        await pub.PublishAsync("s", "one", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));

        if (queueQoS0)
        {
            PublishModel zero = await again.ExpectPublishAsync("s", "zero");
            Assert.That(zero.QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        }
        else
        {
            Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.EqualTo(1));
        }

        PublishModel one = await again.ExpectPublishAsync("s", "one");
        Assert.That(one.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
    }

    [Test]
    public async Task OfflineQueue_MixedQoS_DeliveredInPublishOrder()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.ExactlyOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
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

        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));

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
        PipeClient sub = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await sub.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.SendAsync(new PublishModel { TopicName = "s"u8.ToArray(), Payload = "short"u8.ToArray(), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 1, HasMessageExpiry = true, MessageExpiryInterval = 5 });
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await pub.SendAsync(new PublishModel { TopicName = "s"u8.ToArray(), Payload = "long"u8.ToArray(), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 2, HasMessageExpiry = true, MessageExpiryInterval = 20 });
        await pub.ExpectAckAsync(PacketType.PubAck, 2);

        broker.Advance(TimeSpan.FromSeconds(6));
        PipeClient again = await broker.ConnectAsync("sub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));

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
        PipeClient pub = await broker.ConnectAsync("pub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await pub.PublishAsync("s", "once", QualityOfService.ExactlyOnce, 9);
        await pub.ExpectAckAsync(PacketType.PubRec, 9);
        await sub.ExpectPublishAsync("s", "once");
        await pub.DropAsync();
        await pub.ExpectClosedAsync();

        PipeClient again = await broker.ConnectAsync("pub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
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
        PipeClient pub = await broker.ConnectAsync("pub", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await pub.PublishAsync("s", "once", QualityOfService.ExactlyOnce, 9);
        await pub.ExpectAckAsync(PacketType.PubRec, 9);
        await pub.DropAsync();
        await pub.ExpectClosedAsync();

        PipeClient again = await broker.ConnectAsync("pub", cleanStart: true);
        await again.SendAckAsync(PacketType.PubRel, 9);

        PublishAckPacket comp = await again.ExpectAckAsync(PacketType.PubComp, 9);
        Assert.That(comp.ReasonCode, Is.EqualTo(ReasonCode.PacketIdentifierNotFound));
    }

    [Test]
    public async Task WillDelay_ReconnectBeforeDelay_CancelsWill()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 5));
        await client.DropAsync();
        await client.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(4));
        await watcher.ExpectNothingAsync();
        PipeClient again = await broker.ConnectAsync("c", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        broker.Advance(TimeSpan.FromSeconds(5));

        await watcher.ExpectNothingAsync();
        Assert.That(again.ConnAck!.SessionPresent, Is.True);
    }

    [Test]
    public async Task WillDelay_ElapsedBetweenHousekeepingTicks_ReconnectDoesNotCancelIt()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        broker.Advance(TimeSpan.FromMilliseconds(500));
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 5));
        await client.DropAsync();
        await client.ExpectClosedAsync();

        // Dropped at 0.5 s with a 5 s delay; the sweep last runs at 5.2 s. At 5.7 s the delay has elapsed, so the
        // reconnect comes too late to cancel the will [MQTT-3.1.3-9].
        broker.Advance(TimeSpan.FromMilliseconds(4_700));
        broker.Advance(TimeSpan.FromMilliseconds(500));
        await broker.ConnectAsync("c", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));

        await watcher.ExpectPublishAsync("will/c", "gone");
    }

    [Test]
    public async Task WillDelay_Elapses_WillIsPublished()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 5));
        await client.DropAsync();
        await client.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(5));

        await watcher.ExpectPublishAsync("will/c", "gone");
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null, "the session outlives the will");
    }

    [Test]
    public async Task WillDelay_LongerThanSessionExpiry_WillIsPublishedWhenSessionEnds()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 3, willDelay: 100));
        await client.DropAsync();
        await client.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(2));
        await watcher.ExpectNothingAsync();
        broker.Advance(TimeSpan.FromSeconds(1));

        await watcher.ExpectPublishAsync("will/c", "gone");
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
    }

    [Test]
    public async Task WillDelay_SessionExpiryZero_WillIsPublishedAtOnce()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", configure: WithWill(sessionExpiry: 0, willDelay: 100));

        await client.DropAsync();
        await client.ExpectClosedAsync();

        await watcher.ExpectPublishAsync("will/c", "gone");
    }

    [Test]
    public async Task Will_NormalDisconnect_IsNotPublished_EvenAfterDelay()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 5));

        await client.DisconnectAsync();
        await client.ExpectClosedAsync();
        broker.Advance(TimeSpan.FromSeconds(61));

        await watcher.ExpectNothingAsync();
    }

    [Test]
    public async Task WillDelay_DisconnectWithWillMessage_WaitsForTheDelay()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 5));

        await client.DisconnectAsync(ReasonCode.DisconnectWithWillMessage);
        await client.ExpectClosedAsync();
        broker.Advance(TimeSpan.FromSeconds(4));
        await watcher.ExpectNothingAsync();
        broker.Advance(TimeSpan.FromSeconds(1));

        await watcher.ExpectPublishAsync("will/c", "gone");
    }

    [Test]
    public async Task Will_TakeoverWithoutDelay_IsPublished()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 0));

        await broker.ConnectAsync("c", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await first.ExpectClosedAsync();

        // [MQTT-3.1.4-3]: the existing client's will is published as 3.1.2.5 says, and a zero delay has elapsed.
        await watcher.ExpectPublishAsync("will/c", "gone");
    }

    [Test]
    public async Task Will_TakeoverWithDelay_IsNotPublished()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 5));

        await broker.ConnectAsync("c", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        await first.ExpectClosedAsync();
        broker.Advance(TimeSpan.FromSeconds(6));

        // A new connection for the client id opened before the delay elapsed [MQTT-3.1.3-9].
        await watcher.ExpectNothingAsync();
    }

    [Test]
    public async Task WillDelay_TakeoverWithCleanStart_EndsSessionSoWillIsPublished()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 30));

        await broker.ConnectAsync("c", cleanStart: true);
        await first.ExpectClosedAsync();

        // The will waits for its delay "or the Session ends, whichever happens first" [MQTT-3.1.2.5]; Clean Start ended
        // it, and the new connection is not to this session [MQTT-3.1.3-9]. Mosquitto publishes it here too.
        await watcher.ExpectPublishAsync("will/c", "gone");
    }

    [Test]
    public async Task WillDelay_OfflineSessionDiscardedByCleanStart_WillIsPublished()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: WithWill(sessionExpiry: 60, willDelay: 30));
        await first.DropAsync();
        await first.ExpectClosedAsync();
        broker.Advance(TimeSpan.FromSeconds(5));
        await watcher.ExpectNothingAsync();

        await broker.ConnectAsync("c", cleanStart: true);

        await watcher.ExpectPublishAsync("will/c", "gone");
        broker.Advance(TimeSpan.FromSeconds(30));
        await watcher.ExpectNothingAsync();
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
        PipeClient again = await broker.ConnectAsync("c", cleanStart: false, configure: SessionLifecycleTests.Expiry(ProtocolVersion.V500, 60));
        Assert.That(again.ConnAck!.SessionPresent, Is.True);
    }

    private static Action<ConnectPacket> WithWill(uint sessionExpiry, uint willDelay) => c =>
    {
        c.Properties = new MqttProperties { SessionExpiryInterval = sessionExpiry };
        c.Will = new WillMessage
        {
            Topic = "will/c"u8.ToArray(),
            Payload = "gone"u8.ToArray(),
            Properties = new MqttProperties { WillDelayInterval = willDelay },
        };
    };
}
