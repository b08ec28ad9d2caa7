using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Client to broker QoS [MQTT-4.3]: acknowledgements, QoS 2 exactly-once with max_awaiting_rel and await_rel_timeout,
/// acks for unknown identifiers, malformed QoS, and the QoS counters.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class QosInboundTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Publish_IsAcknowledgedPerQoSWithTheSamePacketIdentifier(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("in/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("in/0", "zero");
        await sub.ExpectPublishAsync("in/0", "zero");
        await pub.PingAsync(); // QoS 0 gets no acknowledgement

        await pub.PublishAsync("in/1", "one", QualityOfService.AtLeastOnce, 0x1234);
        PublishAckPacket puback = await pub.ExpectAckAsync(PacketType.PubAck, 0x1234);
        Assert.That(puback.ReasonCode, Is.EqualTo(ReasonCode.Success));
        await sub.ExpectPublishAndCompleteAsync("in/1", "one");

        await pub.PublishAsync("in/2", "two", QualityOfService.ExactlyOnce, 0xFFFF);
        PublishAckPacket pubrec = await pub.ExpectAckAsync(PacketType.PubRec, 0xFFFF);
        Assert.That(pubrec.ReasonCode, Is.EqualTo(ReasonCode.Success));

        // Delivery does not wait for PUBREL (EMQX and mosquitto route QoS 2 on PUBLISH).
        await sub.ExpectPublishAndCompleteAsync("in/2", "two");
        await pub.SendAckAsync(PacketType.PubRel, 0xFFFF);
        PublishAckPacket pubcomp = await pub.ExpectAckAsync(PacketType.PubComp, 0xFFFF);
        Assert.That(pubcomp.ReasonCode, Is.EqualTo(ReasonCode.Success));
        await pub.PingAsync();
        await sub.PingAsync();
    }

    [Test]
    public async Task Publish_V5_NoSubscribers_AcksWithNoMatchingSubscribers()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("nobody", "x", QualityOfService.AtLeastOnce, 1);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));
        await pub.PublishAsync("nobody", "x", QualityOfService.ExactlyOnce, 2);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubRec, 2)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));
        await pub.SendAckAsync(PacketType.PubRel, 2);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubComp, 2)).ReasonCode, Is.EqualTo(ReasonCode.Success));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task QoS2_SamePacketIdBeforePubRel_IsDeliveredOnce_AndReusableAfterPubComp(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("eo/#", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("eo/x", "first", QualityOfService.ExactlyOnce, 7);
        await pub.ExpectAckAsync(PacketType.PubRec, 7);
        PublishModel delivery = await sub.ExpectPublishAsync("eo/x", "first");
        await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);

        // A retransmission (DUP) and a plain resend of the id: acknowledged again, never routed again [MQTT-4.3.3-9].
        await pub.PublishAsync("eo/x", "first", QualityOfService.ExactlyOnce, 7, dup: true);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubRec, 7)).ReasonCode, Is.EqualTo(ReasonCode.Success));
        await pub.PublishAsync("eo/x", "first", QualityOfService.ExactlyOnce, 7);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubRec, 7)).ReasonCode, Is.EqualTo(ReasonCode.Success));
        await sub.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishInuse), Is.EqualTo(2));

        await pub.SendAckAsync(PacketType.PubRel, 7);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubComp, 7)).ReasonCode, Is.EqualTo(ReasonCode.Success));

        // The identifier is free again: the next PUBLISH with it is a new message.
        await pub.PublishAsync("eo/x", "second", QualityOfService.ExactlyOnce, 7);
        await pub.ExpectAckAsync(PacketType.PubRec, 7);
        delivery = await sub.ExpectPublishAsync("eo/x", "second");
        await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        await pub.SendAckAsync(PacketType.PubRel, 7);
        await pub.ExpectAckAsync(PacketType.PubComp, 7);
        await sub.PingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubrelMissed), Is.Zero);
    }

    [Test]
    public async Task MaxAwaitingRel_V5_AdvertisedAsReceiveMaximum_ExceedingItDisconnects0x93()
    {
        await using var broker = new TestBroker(o => o.MaximumAwaitingRel = 2);
        PipeClient pub = await broker.ConnectAsync("pub");
        Assert.That(pub.ConnAck!.Properties?.ReceiveMaximum, Is.EqualTo((ushort)2), "CONNACK Receive Maximum");

        await pub.PublishAsync("ra/x", "1", QualityOfService.ExactlyOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubRec, 1);
        await pub.PublishAsync("ra/x", "2", QualityOfService.ExactlyOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);

        // QoS 1 is acknowledged at once, so it never counts against the quota.
        await pub.PublishAsync("ra/x", "q1", QualityOfService.AtLeastOnce, 3);
        await pub.ExpectAckAsync(PacketType.PubAck, 3);

        // [MQTT-3.3.4-9]: a third unreleased QoS 2 exceeds the Receive Maximum.
        await pub.PublishAsync("ra/x", "3", QualityOfService.ExactlyOnce, 4);
        DisconnectPacket? disconnect = await pub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.ReceiveMaximumExceeded));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishDropped), Is.EqualTo(1));
    }

    [Test]
    public async Task MaxAwaitingRel_V5_RetransmissionWhileFull_IsAcknowledgedNotCounted()
    {
        await using var broker = new TestBroker(o => o.MaximumAwaitingRel = 2);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("ra/x", "1", QualityOfService.ExactlyOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubRec, 1);
        await pub.PublishAsync("ra/x", "2", QualityOfService.ExactlyOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);

        await pub.PublishAsync("ra/x", "2", QualityOfService.ExactlyOnce, 2, dup: true);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);
        await pub.SendAckAsync(PacketType.PubRel, 1);
        await pub.ExpectAckAsync(PacketType.PubComp, 1);
        await pub.PublishAsync("ra/x", "3", QualityOfService.ExactlyOnce, 3);
        await pub.ExpectAckAsync(PacketType.PubRec, 3);
        await pub.PingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishDropped), Is.Zero);
    }

    [Test]
    public async Task MaxAwaitingRel_V5_ReleasedMessagesFreeTheQuota()
    {
        await using var broker = new TestBroker(o => o.MaximumAwaitingRel = 2);
        PipeClient pub = await broker.ConnectAsync("pub");
        for (ushort id = 1; id <= 6; id++)
        {
            await pub.PublishAsync("ra/x", "m", QualityOfService.ExactlyOnce, id);
            await pub.ExpectAckAsync(PacketType.PubRec, id);
            if (id % 2 == 0)
            {
                await pub.SendAckAsync(PacketType.PubRel, (ushort)(id - 1));
                await pub.ExpectAckAsync(PacketType.PubComp, (ushort)(id - 1));
                await pub.SendAckAsync(PacketType.PubRel, id);
                await pub.ExpectAckAsync(PacketType.PubComp, id);
            }
        }

        await pub.PingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishDropped), Is.Zero);
    }

    [Test]
    public async Task MaxAwaitingRel_V311_ExceedingItClosesTheConnection()
    {
        await using var broker = new TestBroker(o => o.MaximumAwaitingRel = 1);
        PipeClient pub = await broker.ConnectAsync("pub", ProtocolVersion.V311);
        await pub.PublishAsync("ra/x", "1", QualityOfService.ExactlyOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubRec, 1);

        await pub.PublishAsync("ra/x", "2", QualityOfService.ExactlyOnce, 2);
        Assert.That(await pub.ExpectClosedAsync(), Is.Null, "3.1.1 has no DISCONNECT from the server");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task AwaitRelTimeout_DropsTheEntry_LatePubRelGetsPacketIdentifierNotFound(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o =>
        {
            o.AwaitRelTimeout = TimeSpan.FromSeconds(5);
            o.SysTopicsEnabled = false;
        });
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("rel/#", QualityOfService.AtMostOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("rel/x", "kept", QualityOfService.ExactlyOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubRec, 1);
        await sub.ExpectPublishAsync("rel/x", "kept");
        broker.Advance(TimeSpan.FromSeconds(4));
        await pub.SendAckAsync(PacketType.PubRel, 1);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubComp, 1)).ReasonCode, Is.EqualTo(ReasonCode.Success), "released in time");

        await pub.PublishAsync("rel/x", "forgotten", QualityOfService.ExactlyOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);
        await sub.ExpectPublishAsync("rel/x", "forgotten");
        long dropped = broker.Broker.Counters.Get(CounterId.MessagesDropped);
        broker.Advance(TimeSpan.FromSeconds(4));
        Assert.That(broker.Broker.Sessions.Find("pub")!.AwaitingRelCount, Is.EqualTo(1));
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("pub")!.AwaitingRelCount, Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesDropped), Is.EqualTo(dropped + 1), "messages.dropped (EMQX: also .await_pubrel_timeout)");

        await pub.SendAckAsync(PacketType.PubRel, 2);
        PublishAckPacket late = await pub.ExpectAckAsync(PacketType.PubComp, 2);
        Assert.That(late.ReasonCode, Is.EqualTo(version == ProtocolVersion.V500 ? ReasonCode.PacketIdentifierNotFound : ReasonCode.Success));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPubrelMissed), Is.EqualTo(1));

        // The forgotten identifier is free: the same id publishes a new message.
        await pub.PublishAsync("rel/x", "again", QualityOfService.ExactlyOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);
        await sub.ExpectPublishAsync("rel/x", "again");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task QoS2_AwaitingRelSurvivesReconnectOfPersistentSession_RetransmissionNotDeliveredAgain(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("pr/#", QualityOfService.AtMostOnce);
        PipeClient pub = await broker.ConnectPersistentAsync("pub", version);
        await pub.PublishAsync("pr/x", "once", QualityOfService.ExactlyOnce, 9);
        await pub.ExpectAckAsync(PacketType.PubRec, 9);
        await sub.ExpectPublishAsync("pr/x", "once");
        await pub.DropAsync();
        await pub.Served.WaitAsync(PipeClient.ReceiveTimeout);

        // [MQTT-4.3.3-9] across the reconnect: the client resends the PUBLISH (DUP) and then PUBREL.
        PipeClient again = await broker.ConnectPersistentAsync("pub", version);
        Assert.That(again.ConnAck!.SessionPresent, Is.True);
        await again.PublishAsync("pr/x", "once", QualityOfService.ExactlyOnce, 9, dup: true);
        await again.ExpectAckAsync(PacketType.PubRec, 9);
        await again.SendAckAsync(PacketType.PubRel, 9);
        Assert.That((await again.ExpectAckAsync(PacketType.PubComp, 9)).ReasonCode, Is.EqualTo(ReasonCode.Success));
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task QoS2_CleanStartDiscardsAwaitingRel_PubRelGetsPacketIdentifierNotFound()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectPersistentAsync("pub", ProtocolVersion.V500);
        await pub.PublishAsync("cs/x", "m", QualityOfService.ExactlyOnce, 9);
        await pub.ExpectAckAsync(PacketType.PubRec, 9);
        await pub.DropAsync();
        await pub.Served.WaitAsync(PipeClient.ReceiveTimeout);

        PipeClient again = await broker.ConnectAsync("pub");
        Assert.That(again.ConnAck!.SessionPresent, Is.False);
        await again.SendAckAsync(PacketType.PubRel, 9);
        Assert.That((await again.ExpectAckAsync(PacketType.PubComp, 9)).ReasonCode, Is.EqualTo(ReasonCode.PacketIdentifierNotFound));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task AcksForUnknownPacketIds_AreCountedAsMissedAndHarmless(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version);
        await client.SubscribeAsync("u/#", QualityOfService.ExactlyOnce);

        await client.SendAckAsync(PacketType.PubAck, 11);
        await client.SendAckAsync(PacketType.PubComp, 12);
        await client.PingAsync();

        // PUBREC for an unknown id is answered with PUBREL 0x92 so the sender can finish; PUBREL with PUBCOMP 0x92.
        await client.SendAckAsync(PacketType.PubRec, 13);
        PublishAckPacket pubrel = await client.ExpectAckAsync(PacketType.PubRel, 13);
        await client.SendAckAsync(PacketType.PubRel, 14);
        PublishAckPacket pubcomp = await client.ExpectAckAsync(PacketType.PubComp, 14);
        ReasonCode notFound = version == ProtocolVersion.V500 ? ReasonCode.PacketIdentifierNotFound : ReasonCode.Success;
        Assert.That((pubrel.ReasonCode, pubcomp.ReasonCode), Is.EqualTo((notFound, notFound)));

        Assert.That(Counter(broker, CounterId.PacketsPubackReceived), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubackMissed), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubcompReceived), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubcompMissed), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubrecReceived), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubrecMissed), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubrelReceived), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubrelMissed), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.MessagesAcked), Is.Zero);

        // An ack of the wrong kind for a real delivery is counted as "in use" (EMQX's packets.*.inuse) and leaves
        // the delivery in flight.
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAndCompleteAsync("u/x", "m", QualityOfService.AtLeastOnce, 1);
        PublishModel delivery = await client.ExpectPublishAsync("u/x", "m");
        await client.SendAckAsync(PacketType.PubComp, delivery.PacketIdentifier);
        await client.SendAckAsync(PacketType.PubRec, delivery.PacketIdentifier);
        await client.PingAsync();
        Assert.That(Counter(broker, CounterId.PacketsPubcompMissed), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubcompInuse), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.PacketsPubrecInuse), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Find("c")!.InflightCount, Is.EqualTo(1));
        await client.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        await client.PingAsync();
        Assert.That(Counter(broker, CounterId.PacketsPubackMissed), Is.EqualTo(1));
        Assert.That(Counter(broker, CounterId.MessagesAcked), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Find("c")!.InflightCount, Is.Zero);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Counters_MatchTheTrafficExactly(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("c/#", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        foreach (QualityOfService qos in new[] { QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce, QualityOfService.ExactlyOnce })
        {
            await pub.PublishAndCompleteAsync($"c/{(int)qos}", "m", qos, 42);
            PublishModel delivery = await sub.ExpectPublishAsync($"c/{(int)qos}", "m");
            await sub.CompleteDeliveryAsync(delivery);
        }

        // One more QoS 1 message, to a second subscriber too, to tell "per message" from "per delivery".
        PipeClient sub2 = await broker.ConnectAsync("sub2", version);
        await sub2.SubscribeAsync("c/#", QualityOfService.AtLeastOnce);
        await pub.PublishAndCompleteAsync("c/1", "n", QualityOfService.AtLeastOnce, 43);
        await sub.ExpectPublishAndCompleteAsync("c/1", "n");
        await sub2.ExpectPublishAndCompleteAsync("c/1", "n");
        await sub.PingAsync();
        await sub2.PingAsync();
        await pub.PingAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Counter(broker, CounterId.PacketsPublishReceived), Is.EqualTo(4));
            Assert.That(Counter(broker, CounterId.MessagesReceived), Is.EqualTo(4));
            Assert.That(Counter(broker, CounterId.MessagesQos0Received), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.MessagesQos1Received), Is.EqualTo(2));
            Assert.That(Counter(broker, CounterId.MessagesQos2Received), Is.EqualTo(1));

            Assert.That(Counter(broker, CounterId.PacketsPublishSent), Is.EqualTo(5));
            Assert.That(Counter(broker, CounterId.MessagesSent), Is.EqualTo(5));
            Assert.That(Counter(broker, CounterId.MessagesQos0Sent), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.MessagesQos1Sent), Is.EqualTo(3));
            Assert.That(Counter(broker, CounterId.MessagesQos2Sent), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.MessagesDelivered), Is.EqualTo(5));

            Assert.That(Counter(broker, CounterId.PacketsPubackSent), Is.EqualTo(2), "to the publisher");
            Assert.That(Counter(broker, CounterId.PacketsPubackReceived), Is.EqualTo(3), "from the subscribers");
            Assert.That(Counter(broker, CounterId.PacketsPubrecSent), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.PacketsPubrecReceived), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.PacketsPubrelReceived), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.PacketsPubrelSent), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.PacketsPubcompSent), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.PacketsPubcompReceived), Is.EqualTo(1));
            Assert.That(Counter(broker, CounterId.MessagesAcked), Is.EqualTo(4), "PUBACK and PUBREC received");

            Assert.That(Counter(broker, CounterId.PacketsPubackMissed) + Counter(broker, CounterId.PacketsPubrecMissed) + Counter(broker, CounterId.PacketsPubrelMissed) + Counter(broker, CounterId.PacketsPubcompMissed), Is.Zero);
            Assert.That(Counter(broker, CounterId.PacketsPublishInuse) + Counter(broker, CounterId.PacketsPublishDropped) + Counter(broker, CounterId.PacketsPublishError), Is.Zero);
            Assert.That(Counter(broker, CounterId.DeliveryDropped), Is.Zero);
        });
    }

    // [MQTT-3.3.1-4]: both QoS bits set.
    [TestCase(ProtocolVersion.V311, "36 06 00 01 'a' 00 01 'x'", ReasonCode.MalformedPacket)]
    [TestCase(ProtocolVersion.V500, "36 07 00 01 'a' 00 01 00 'x'", ReasonCode.MalformedPacket)]
    // [MQTT-2.2.1-3]: QoS 1 or 2 with packet identifier 0. Reason code 0x82 as mosquitto (and this codec) choose; EMQX sends 0x81.
    [TestCase(ProtocolVersion.V311, "32 06 00 01 'a' 00 00 'x'", ReasonCode.ProtocolError)] // QoS 1
    [TestCase(ProtocolVersion.V311, "34 06 00 01 'a' 00 00 'x'", ReasonCode.ProtocolError)] // QoS 2
    [TestCase(ProtocolVersion.V500, "32 07 00 01 'a' 00 00 00 'x'", ReasonCode.ProtocolError)]
    [TestCase(ProtocolVersion.V500, "34 07 00 01 'a' 00 00 00 'x'", ReasonCode.ProtocolError)]
    public async Task Publish_InvalidQoSOrPacketIdentifier_ClosesTheConnection_NothingRouted(ProtocolVersion version, string bytes, ReasonCode v5Reason)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("a", QualityOfService.ExactlyOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.SendAsync(Hex.Parse(bytes));
        DisconnectPacket? disconnect = await pub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(version == ProtocolVersion.V500 ? v5Reason : (ReasonCode?)null));
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task Publish_V5_QoSAboveMaximumQoS_Disconnects0x9B()
    {
        await using var broker = new TestBroker(o => o.MaximumQoS = QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("a", "x", QualityOfService.ExactlyOnce, 1);
        DisconnectPacket? disconnect = await pub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.QoSNotSupported), "[MQTT-3.2.2-11]");
    }

    private static long Counter(TestBroker broker, CounterId id) => broker.Broker.Counters.Get(id);
}
