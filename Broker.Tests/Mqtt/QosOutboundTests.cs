using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Broker to client QoS [MQTT-4.3]: the delivered QoS, packet identifiers, the inflight window (max_inflight and the
/// client's Receive Maximum), resends with DUP on reconnect and the 3.1.1 retry interval.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class QosOutboundTests
{
    private static readonly QualityOfService[] s_levels = [QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce, QualityOfService.ExactlyOnce];

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task DeliveredQoS_IsMinimumOfPublishAndSubscriptionQoS(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        var subscribers = new PipeClient[s_levels.Length];
        foreach (QualityOfService granted in s_levels)
        {
            PipeClient sub = subscribers[(int)granted] = await broker.ConnectAsync($"sub{(int)granted}", version);
            Assert.That(await sub.SubscribeAsync("q/#", granted), Is.EqualTo(new[] { (ReasonCode)(byte)granted }));
        }

        PipeClient pub = await broker.ConnectAsync("pub", version);
        ushort packetId = 100;
        foreach (QualityOfService published in s_levels)
        {
            string payload = $"published at {(int)published}";
            await pub.PublishAndCompleteAsync("q/x", payload, published, ++packetId);
            foreach (QualityOfService granted in s_levels)
            {
                PublishModel delivery = await subscribers[(int)granted].ExpectPublishAsync("q/x", payload);
                var expected = (QualityOfService)Math.Min((int)published, (int)granted);
                Assert.That(delivery.QoS, Is.EqualTo(expected), $"published {published}, subscribed {granted}");
                Assert.That(delivery.Dup, Is.False);
                if (expected == QualityOfService.AtMostOnce)
                {
                    Assert.That(delivery.PacketIdentifier, Is.Zero);
                }
                else
                {
                    Assert.That(delivery.PacketIdentifier, Is.Not.Zero, "[MQTT-2.2.1-3] QoS 1/2 PUBLISH has a non-zero packet identifier");
                }

                await subscribers[(int)granted].CompleteDeliveryAsync(delivery);
            }
        }

        foreach (PipeClient sub in subscribers)
        {
            await sub.PingAsync();
        }
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task MaximumQoSAllowed_DowngradesGrantedQoSAndDelivery(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumQoS = QualityOfService.AtLeastOnce);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        if (version == ProtocolVersion.V500)
        {
            Assert.That(sub.ConnAck!.Properties?.MaximumQoS, Is.EqualTo((byte)1), "CONNACK Maximum QoS [MQTT-3.2.2-9]");
        }

        List<ReasonCode> granted = await sub.SubscribeAsync(
            new TopicSubscription("a/2", QualityOfService.ExactlyOnce),
            new TopicSubscription("a/1", QualityOfService.AtLeastOnce),
            new TopicSubscription("a/0", QualityOfService.AtMostOnce));
        Assert.That(granted, Is.EqualTo(new[] { ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS0 }));

        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("a/2", "x", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PublishModel delivery = await sub.ExpectPublishAsync("a/2", "x");
        Assert.That(delivery.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        await sub.PingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task PacketIdentifiers_AreNonZeroAndDistinctWhileInflight_AndAcksFreeTheWindow(ProtocolVersion version)
    {
        const int Window = 8;
        await using var broker = new TestBroker(o => o.MaximumInflight = Window);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("ids/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        for (int round = 0; round < 3; round++)
        {
            // Half QoS 1, half QoS 2: both kinds share one identifier space and one window.
            var deliveries = new List<PublishModel>();
            for (int i = 0; i < Window; i++)
            {
                QualityOfService qos = i % 2 == 0 ? QualityOfService.AtLeastOnce : QualityOfService.ExactlyOnce;
                await pub.PublishAndCompleteAsync("ids/x", $"{round}.{i}", qos, (ushort)(i + 1));
                PublishModel delivery = await sub.ExpectPublishAsync("ids/x", $"{round}.{i}");
                Assert.That(delivery.QoS, Is.EqualTo(qos));
                deliveries.Add(delivery);
            }

            ushort[] ids = [.. deliveries.Select(d => d.PacketIdentifier)];
            Assert.That(ids, Has.None.EqualTo(0), $"round {round}");
            Assert.That(ids, Is.Unique, $"round {round}: identifiers of inflight deliveries");

            // PUBREC does not free a QoS 2 slot; only PUBCOMP does.
            foreach (PublishModel delivery in deliveries.Where(d => d.QoS == QualityOfService.ExactlyOnce))
            {
                await sub.SendAckAsync(PacketType.PubRec, delivery.PacketIdentifier);
                await sub.ExpectAckAsync(PacketType.PubRel, delivery.PacketIdentifier);
            }

            Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.EqualTo(Window));
            foreach (PublishModel delivery in deliveries)
            {
                await sub.SendAckAsync(delivery.QoS == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubComp, delivery.PacketIdentifier);
            }

            await sub.PingAsync();
            Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero, $"round {round}: acknowledged deliveries leave the window");
        }
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task InflightWindow_SubscriberThatNeverAcksGetsMaxInflight_RestFlowInOrderAsAcksArrive(ProtocolVersion version)
    {
        const int Window = 3;
        await using var broker = new TestBroker(o => o.MaximumInflight = Window);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("w/#", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        for (int i = 0; i < 7; i++)
        {
            await pub.PublishAndCompleteAsync("w/x", $"m{i}", QualityOfService.AtLeastOnce, (ushort)(i + 1));
        }

        var inflight = new List<PublishModel>();
        for (int i = 0; i < Window; i++)
        {
            inflight.Add(await sub.ExpectPublishAsync("w/x", $"m{i}"));
        }

        await sub.ExpectNothingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.QueueLength, Is.EqualTo(7 - Window));

        // Each ack, whichever delivery it is for, lets exactly the next queued message out.
        int[] ackOrder = [1, 0, 2, 3];
        for (int n = 0; n < ackOrder.Length; n++)
        {
            await sub.SendAckAsync(PacketType.PubAck, inflight[ackOrder[n]].PacketIdentifier);
            inflight.Add(await sub.ExpectPublishAsync("w/x", $"m{Window + n}"));
            await sub.ExpectNothingAsync(TimeSpan.FromMilliseconds(50));
        }

        Assert.That(inflight.Select(d => d.PacketIdentifier), Is.Unique);
        foreach (PublishModel delivery in inflight.Skip(4))
        {
            await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        }

        await sub.PingAsync();
        Session session = broker.Broker.Sessions.Find("sub")!;
        Assert.That((session.InflightCount, session.QueueLength), Is.EqualTo((0, 0)));
    }

    [Test]
    public async Task InflightWindow_QueueBeyondWindowIsBounded_OldestDroppedAndCounted()
    {
        await using var broker = new TestBroker(o =>
        {
            o.MaximumInflight = 1;
            o.MaximumQueueLength = 2;
        });
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("qf/#", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        for (int i = 0; i < 5; i++)
        {
            await pub.PublishAndCompleteAsync("qf/x", $"m{i}", QualityOfService.AtLeastOnce, (ushort)(i + 1));
        }

        PublishModel delivery = await sub.ExpectPublishAsync("qf/x", "m0");
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.EqualTo(2));
        foreach (string expected in new[] { "m3", "m4" })
        {
            await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
            delivery = await sub.ExpectPublishAsync("qf/x", expected);
        }

        await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        await sub.PingAsync();
    }

    [Test]
    public async Task PubRecWithErrorReasonCode_V5_EndsTheDeliveryWithoutPubRel()
    {
        // [MQTT-4.3.3]: a PUBREC with a reason code of 0x80 or more ends the flow and frees the window slot.
        await using var broker = new TestBroker(o => o.MaximumInflight = 1);
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("e/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("e/x", "refused", QualityOfService.ExactlyOnce, 1);
        await pub.PublishAndCompleteAsync("e/x", "next", QualityOfService.ExactlyOnce, 2);

        PublishModel refused = await sub.ExpectPublishAsync("e/x", "refused");
        await sub.SendAckAsync(PacketType.PubRec, refused.PacketIdentifier, ReasonCode.ImplementationSpecificError);
        PublishModel next = await sub.ExpectPublishAsync("e/x", "next");
        await sub.CompleteDeliveryAsync(next);
        await sub.PingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero);
    }

    [Test]
    public async Task InflightWindow_ClientReceiveMaximumBelowMaxInflight_LimitsFurther()
    {
        await using var broker = new TestBroker(o => o.MaximumInflight = 5);
        PipeClient sub = await broker.ConnectAsync("sub", ProtocolVersion.V500, configure: c => c.Properties = new MqttProperties { ReceiveMaximum = 2 });
        await sub.SubscribeAsync("rm/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        for (int i = 0; i < 4; i++)
        {
            await pub.PublishAndCompleteAsync("rm/x", $"m{i}", i < 2 ? QualityOfService.ExactlyOnce : QualityOfService.AtLeastOnce, (ushort)(i + 1));
        }

        PublishModel first = await sub.ExpectPublishAsync("rm/x", "m0");
        PublishModel second = await sub.ExpectPublishAsync("rm/x", "m1");
        await sub.ExpectNothingAsync();

        // [MQTT-3.3.4-9]: a QoS 2 delivery counts against Receive Maximum until PUBCOMP, not PUBREC.
        await sub.SendAckAsync(PacketType.PubRec, first.PacketIdentifier);
        await sub.ExpectAckAsync(PacketType.PubRel, first.PacketIdentifier);
        await sub.ExpectNothingAsync();
        await sub.SendAckAsync(PacketType.PubComp, first.PacketIdentifier);
        PublishModel third = await sub.ExpectPublishAsync("rm/x", "m2");
        await sub.ExpectNothingAsync();

        await sub.CompleteDeliveryAsync(second);
        PublishModel fourth = await sub.ExpectPublishAsync("rm/x", "m3");
        await sub.CompleteDeliveryAsync(third);
        await sub.CompleteDeliveryAsync(fourth);
        await sub.PingAsync();
    }

    [Test]
    public async Task InflightWindow_ClientReceiveMaximumAboveMaxInflight_MaxInflightStillLimits()
    {
        await using var broker = new TestBroker(o => o.MaximumInflight = 2);
        PipeClient sub = await broker.ConnectAsync("sub", ProtocolVersion.V500, configure: c => c.Properties = new MqttProperties { ReceiveMaximum = 100 });
        await sub.SubscribeAsync("rm/#", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        for (int i = 0; i < 3; i++)
        {
            await pub.PublishAndCompleteAsync("rm/x", $"m{i}", QualityOfService.AtLeastOnce, (ushort)(i + 1));
        }

        PublishModel first = await sub.ExpectPublishAsync("rm/x", "m0");
        await sub.ExpectPublishAsync("rm/x", "m1");
        await sub.ExpectNothingAsync();
        await sub.SendAckAsync(PacketType.PubAck, first.PacketIdentifier);
        await sub.ExpectPublishAsync("rm/x", "m2");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Reconnect_PersistentSession_ResendsUnackedWithDupAndSameIds_PubRelForReceived_BeforeNewMessages(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectPersistentAsync("sub", version);
        await sub.SubscribeAsync("r/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAndCompleteAsync("r/1", "one", QualityOfService.AtLeastOnce, 1);
        await pub.PublishAndCompleteAsync("r/2", "two", QualityOfService.ExactlyOnce, 2);
        await pub.PublishAndCompleteAsync("r/3", "three", QualityOfService.ExactlyOnce, 3);
        await pub.PublishAndCompleteAsync("r/4", "four", QualityOfService.AtLeastOnce, 4);
        PublishModel one = await sub.ExpectPublishAsync("r/1", "one");
        PublishModel two = await sub.ExpectPublishAsync("r/2", "two");
        PublishModel three = await sub.ExpectPublishAsync("r/3", "three");
        PublishModel four = await sub.ExpectPublishAsync("r/4", "four");

        // r/3 reaches the released state; r/4 is done; r/1 and r/2 stay unacknowledged.
        await sub.SendAckAsync(PacketType.PubRec, three.PacketIdentifier);
        await sub.ExpectAckAsync(PacketType.PubRel, three.PacketIdentifier);
        await sub.SendAckAsync(PacketType.PubAck, four.PacketIdentifier);
        await sub.PingAsync();
        await sub.DropAsync();
        await sub.Served.WaitAsync(PipeClient.ReceiveTimeout);

        await pub.PublishAndCompleteAsync("r/5", "five", QualityOfService.AtLeastOnce, 5);
        await pub.PingAsync();

        PipeClient again = await broker.ConnectPersistentAsync("sub", version);
        Assert.That(again.ConnAck!.SessionPresent, Is.True);

        PublishModel oneAgain = await again.ExpectPublishAsync("r/1", "one");
        Assert.That((oneAgain.Dup, oneAgain.QoS, oneAgain.PacketIdentifier), Is.EqualTo((true, QualityOfService.AtLeastOnce, one.PacketIdentifier)), "[MQTT-4.4.0-1] r/1 resent");
        PublishModel twoAgain = await again.ExpectPublishAsync("r/2", "two");
        Assert.That((twoAgain.Dup, twoAgain.QoS, twoAgain.PacketIdentifier), Is.EqualTo((true, QualityOfService.ExactlyOnce, two.PacketIdentifier)), "r/2 resent");
        await again.ExpectAckAsync(PacketType.PubRel, three.PacketIdentifier);
        PublishModel five = await again.ExpectPublishAsync("r/5", "five");
        Assert.That(five.Dup, Is.False, "a message queued while offline is new, not a resend");
        Assert.That(five.PacketIdentifier, Is.Not.AnyOf(one.PacketIdentifier, two.PacketIdentifier, three.PacketIdentifier));

        await again.SendAckAsync(PacketType.PubAck, oneAgain.PacketIdentifier);
        await again.CompleteDeliveryAsync(twoAgain);
        await again.SendAckAsync(PacketType.PubComp, three.PacketIdentifier);
        await again.SendAckAsync(PacketType.PubAck, five.PacketIdentifier);
        await again.PingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubackMissed), Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubcompMissed), Is.Zero);
    }

    [Test]
    public async Task Reconnect_V5_ResendsNoMoreThanTheNewReceiveMaximum_RestAsAcksArrive()
    {
        // [MQTT-3.3.4-9] holds for resends too: a client that comes back with a smaller Receive Maximum gets only that
        // many, the others follow (DUP, same identifiers, in order) as acks arrive, then the queued ones.
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectPersistentAsync("sub", ProtocolVersion.V500);
        await sub.SubscribeAsync("rr/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        var first = new List<PublishModel>();
        for (int i = 0; i < 4; i++)
        {
            await pub.PublishAndCompleteAsync("rr/x", $"m{i}", i == 1 ? QualityOfService.ExactlyOnce : QualityOfService.AtLeastOnce, (ushort)(i + 1));
            first.Add(await sub.ExpectPublishAsync("rr/x", $"m{i}"));
        }

        await sub.DropAsync();
        await sub.Served.WaitAsync(PipeClient.ReceiveTimeout);
        await pub.PublishAndCompleteAsync("rr/x", "m4", QualityOfService.AtLeastOnce, 5);
        await pub.PingAsync();

        PipeClient again = await broker.ConnectAsync("sub", ProtocolVersion.V500, cleanStart: false,
            configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 300, ReceiveMaximum = 2 });
        var resent = new List<PublishModel>
        {
            await again.ExpectPublishAsync("rr/x", "m0"),
            await again.ExpectPublishAsync("rr/x", "m1"),
        };
        await again.ExpectNothingAsync();

        // m1 is QoS 2: PUBREC keeps its slot, so m2 waits for PUBCOMP.
        await again.SendAckAsync(PacketType.PubRec, resent[1].PacketIdentifier);
        await again.ExpectAckAsync(PacketType.PubRel, resent[1].PacketIdentifier);
        await again.ExpectNothingAsync(TimeSpan.FromMilliseconds(50));
        await again.SendAckAsync(PacketType.PubComp, resent[1].PacketIdentifier);
        resent.Add(await again.ExpectPublishAsync("rr/x", "m2"));
        await again.ExpectNothingAsync(TimeSpan.FromMilliseconds(50));
        await again.SendAckAsync(PacketType.PubAck, resent[0].PacketIdentifier);
        resent.Add(await again.ExpectPublishAsync("rr/x", "m3"));
        for (int i = 0; i < 4; i++)
        {
            Assert.That((resent[i].Dup, resent[i].PacketIdentifier), Is.EqualTo((true, first[i].PacketIdentifier)), $"m{i} resent");
        }

        await again.SendAckAsync(PacketType.PubAck, resent[2].PacketIdentifier);
        PublishModel queued = await again.ExpectPublishAsync("rr/x", "m4");
        Assert.That(queued.Dup, Is.False);
        await again.SendAckAsync(PacketType.PubAck, resent[3].PacketIdentifier);
        await again.SendAckAsync(PacketType.PubAck, queued.PacketIdentifier);
        await again.PingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubackMissed), Is.Zero);
    }

    [Test]
    public async Task Retry_V311_UnackedDeliveriesResentWithDupAfterRetryInterval()
    {
        await using var broker = new TestBroker(o => o.RetryInterval = TimeSpan.FromSeconds(10));
        PipeClient sub = await broker.ConnectAsync("sub", ProtocolVersion.V311);
        await sub.SubscribeAsync("t/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", ProtocolVersion.V311);
        await pub.PublishAndCompleteAsync("t/1", "one", QualityOfService.AtLeastOnce, 1);
        await pub.PublishAndCompleteAsync("t/2", "two", QualityOfService.ExactlyOnce, 2);
        await pub.PublishAndCompleteAsync("t/3", "three", QualityOfService.ExactlyOnce, 3);
        PublishModel one = await sub.ExpectPublishAsync("t/1", "one");
        PublishModel two = await sub.ExpectPublishAsync("t/2", "two");
        PublishModel three = await sub.ExpectPublishAsync("t/3", "three");
        await sub.SendAckAsync(PacketType.PubRec, three.PacketIdentifier);
        await sub.ExpectAckAsync(PacketType.PubRel, three.PacketIdentifier);

        broker.Advance(TimeSpan.FromSeconds(9));
        await sub.ExpectNothingAsync();

        broker.Advance(TimeSpan.FromSeconds(1));
        PublishModel oneAgain = await sub.ExpectPublishAsync("t/1", "one");
        Assert.That((oneAgain.Dup, oneAgain.PacketIdentifier), Is.EqualTo((true, one.PacketIdentifier)));
        PublishModel twoAgain = await sub.ExpectPublishAsync("t/2", "two");
        Assert.That((twoAgain.Dup, twoAgain.PacketIdentifier), Is.EqualTo((true, two.PacketIdentifier)));
        await sub.ExpectAckAsync(PacketType.PubRel, three.PacketIdentifier);

        // A second interval without acks: resent again.
        broker.Advance(TimeSpan.FromSeconds(10));
        Assert.That((await sub.ExpectPublishAsync("t/1", "one")).Dup, Is.True);
        Assert.That((await sub.ExpectPublishAsync("t/2", "two")).Dup, Is.True);
        await sub.ExpectAckAsync(PacketType.PubRel, three.PacketIdentifier);

        await sub.SendAckAsync(PacketType.PubAck, one.PacketIdentifier);
        await sub.CompleteDeliveryAsync(twoAgain);
        await sub.SendAckAsync(PacketType.PubComp, three.PacketIdentifier);
        await sub.PingAsync();
        broker.Advance(TimeSpan.FromSeconds(30));
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task Retry_V5_NoResendWhileConnected()
    {
        // [MQTT-4.4.0-1]: v5 resends only on reconnect.
        await using var broker = new TestBroker(o => o.RetryInterval = TimeSpan.FromSeconds(5));
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("t/1", "one", QualityOfService.AtLeastOnce, 1);
        await sub.ExpectPublishAsync("t/1", "one");

        broker.Advance(TimeSpan.FromSeconds(20));
        await sub.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task RepeatedPubRecIsReleasedAgain_AndWrongKindAcksAreInUse(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("q2", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAndCompleteAsync("q2", "m", QualityOfService.ExactlyOnce, 1);
        PublishModel delivery = await sub.ExpectPublishAsync("q2", "m");
        ushort id = delivery.PacketIdentifier;

        await sub.SendAckAsync(PacketType.PubAck, id);
        await sub.PingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubackInuse), Is.EqualTo(1), "PUBACK for a QoS 2 delivery");

        await sub.SendAckAsync(PacketType.PubRec, id);
        await sub.ExpectAckAsync(PacketType.PubRel, id);
        // Our PUBREL may have been lost: the client repeats PUBREC and gets PUBREL again, acknowledged once.
        await sub.SendAckAsync(PacketType.PubRec, id);
        await sub.ExpectAckAsync(PacketType.PubRel, id);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubrecInuse), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesAcked), Is.EqualTo(1));

        await sub.SendAckAsync(PacketType.PubComp, id);
        await sub.PingAsync();
        Assert.That(broker.Broker.Sessions.Find("sub")!.InflightCount, Is.Zero);
    }
}
