using System.Text;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// SUBSCRIBE and UNSUBSCRIBE as a client sees them: SUBACK and UNSUBACK codes, which publishes arrive, at which QoS,
/// with which flags and Subscription Identifiers. "Nothing else arrived" is checked with a marker publish sent after the
/// message under test (deliveries to one client leave in order), not by waiting.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SubscriptionTests
{
    private static readonly string[] s_invalidFilters =
    [
        "a/#/b", // '#' must be the last level [MQTT-4.7.1-2]
        "a/b#",  // '#' must be a whole level [MQTT-4.7.1-2]
        "a+",    // '+' must be a whole level [MQTT-4.7.1-3]
        "+a/b",  // '+' must be a whole level [MQTT-4.7.1-3]
        "a/+b/c",
        "",      // a topic filter is at least one character [MQTT-4.7.3-1]
    ];

    [Test]
    public async Task Subscribe_InvalidFilter_IsRefusedAndTheRestOfThePacketGranted(
        [ValueSource(nameof(s_invalidFilters))] string filter, [Values(ProtocolVersion.V311, ProtocolVersion.V500)] ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);

        List<ReasonCode> codes = await sub.SubscribeAsync(new TopicSubscription(filter, QualityOfService.AtMostOnce), new TopicSubscription("ok", QualityOfService.AtLeastOnce));

        // 3.1.1 has a single failure code, 0x80 [MQTT-3.9.3]; v5 says why (0x8F).
        ReasonCode refused = version == ProtocolVersion.V500 ? ReasonCode.TopicFilterInvalid : ReasonCode.UnspecifiedError;
        Assert.That(codes, Is.EqualTo(new[] { refused, ReasonCode.GrantedQoS1 }));
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("ok", "still subscribed");
        await sub.ExpectPublishAsync("ok", "still subscribed");
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsSubscribeError), Is.EqualTo(1));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Subscribe_MoreLevelsThanMaxTopicLevels_IsRefused(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumTopicLevels = 3);
        PipeClient sub = await broker.ConnectAsync("sub", version);

        List<ReasonCode> codes = await sub.SubscribeAsync(
            new TopicSubscription("a/b/c", QualityOfService.AtMostOnce),
            new TopicSubscription("a/b/c/d", QualityOfService.AtMostOnce),
            new TopicSubscription("a/+/+/#", QualityOfService.AtMostOnce),
            new TopicSubscription("$share/g/a/b/c/d", QualityOfService.AtMostOnce));

        ReasonCode refused = version == ProtocolVersion.V500 ? ReasonCode.TopicFilterInvalid : ReasonCode.UnspecifiedError;
        Assert.That(codes, Is.EqualTo(new[] { ReasonCode.GrantedQoS0, refused, refused, refused }));
    }

    [TestCase("a/+")]
    [TestCase("a/#")]
    [TestCase("+")]
    [TestCase("#")]
    [TestCase("a/b+")]
    public async Task Publish_WildcardInTopicName_ClosesTheConnection(string topic)
    {
        await using var broker = new TestBroker();
        PipeClient all = await broker.ConnectAsync("all");
        await all.SubscribeAsync("#");
        PipeClient v5 = await broker.ConnectAsync("v5");
        PipeClient v3 = await broker.ConnectAsync("v3", ProtocolVersion.V311);

        // [MQTT-3.3.2-2] no wildcards in a topic name: v5 gets DISCONNECT 0x90, 3.1.1 a closed connection [MQTT-4.8.0-1].
        await v5.PublishAsync(topic, "bad");
        DisconnectPacket? disconnect = await v5.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.TopicNameInvalid));
        await v3.PublishAsync(topic, "bad");
        Assert.That(await v3.ExpectClosedAsync(), Is.Null);

        PipeClient marker = await broker.ConnectAsync("marker");
        await marker.PublishAsync("marker", "end");
        Assert.That(await all.ReceivePublishesUntilAsync("marker"), Is.Empty, "an invalid PUBLISH must not be routed");
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishError), Is.EqualTo(2));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Publish_EmptyTopicWithoutAlias_ClosesTheConnection(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("", "no topic");

        // 5.0 §3.3.2.1: "It is a Protocol Error if the Topic Name is zero length and there is no Topic Alias" (0x82,
        // as EMQX answers); 3.1.1 requires a non-empty topic [MQTT-4.7.3-1] and can only close.
        await pub.ExpectClosedWithAsync(ReasonCode.ProtocolError);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Publish_MoreLevelsThanMaxTopicLevels_ClosesWithTopicNameInvalid(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumTopicLevels = 3);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("a/#");
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("a/b/c", "three levels");
        await sub.ExpectPublishAsync("a/b/c", "three levels");
        await pub.PublishAsync("a/b/c/d", "four levels");

        await pub.ExpectClosedWithAsync(ReasonCode.TopicNameInvalid);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Subscribe_WildcardsDisabled_RefusesWildcardFiltersOnly(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.WildcardSubscriptionAvailable = false);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        if (version == ProtocolVersion.V500)
        {
            Assert.That(sub.ConnAck!.Properties?.WildcardSubscriptionAvailable, Is.EqualTo((byte)0), "CONNACK Wildcard Subscription Available");
        }

        List<ReasonCode> codes = await sub.SubscribeAsync(
            new TopicSubscription("a/+", QualityOfService.AtMostOnce),
            new TopicSubscription("#", QualityOfService.AtMostOnce),
            new TopicSubscription("$share/g/a/#", QualityOfService.AtMostOnce),
            new TopicSubscription("a/b", QualityOfService.AtLeastOnce));

        ReasonCode refused = version == ProtocolVersion.V500 ? ReasonCode.WildcardSubscriptionsNotSupported : ReasonCode.UnspecifiedError;
        Assert.That(codes, Is.EqualTo(new[] { refused, refused, refused, ReasonCode.GrantedQoS1 }));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Subscribe_BeyondMaxSubscriptions_IsRefusedWithQuotaExceeded(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumSubscriptions = 2);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        ReasonCode refused = version == ProtocolVersion.V500 ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError;

        Assert.That(await sub.SubscribeAsync(new TopicSubscription("a", QualityOfService.AtMostOnce), new TopicSubscription("b", QualityOfService.AtMostOnce)),
            Is.EqualTo(new[] { ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS0 }));
        Assert.That(await sub.SubscribeAsync("c"), Is.EqualTo(new[] { refused }));

        // Replacing an existing subscription is not a new one.
        Assert.That(await sub.SubscribeAsync("a", QualityOfService.AtLeastOnce), Is.EqualTo(new[] { ReasonCode.GrantedQoS1 }));

        await sub.UnsubscribeAsync("b");
        Assert.That(await sub.SubscribeAsync("c"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("c", "granted after unsubscribe");
        await sub.ExpectPublishAsync("c", "granted after unsubscribe");
    }

    [Test]
    public async Task DollarTopics_AreNotMatchedByLeadingWildcards()
    {
        await using var broker = new TestBroker();
        PipeClient hash = await broker.ConnectAsync("hash");
        await hash.SubscribeAsync("#");
        PipeClient plus = await broker.ConnectAsync("plus");
        await plus.SubscribeAsync("+/x");
        PipeClient dollarHash = await broker.ConnectAsync("dollar-hash");
        await dollarHash.SubscribeAsync("$app/#");
        PipeClient dollarPlus = await broker.ConnectAsync("dollar-plus");
        await dollarPlus.SubscribeAsync("$app/+");
        await plus.SubscribeAsync("marker");
        PipeClient pub = await broker.ConnectAsync("pub");

        // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
        await pub.PublishAsync("$app/x", "dollar");
        await pub.PublishAsync("marker", "end");

        await dollarHash.ExpectPublishAsync("$app/x", "dollar");
        await dollarPlus.ExpectPublishAsync("$app/x", "dollar");
        Assert.That(await hash.ReceivePublishesUntilAsync("marker"), Is.Empty, "'#' must not match $app/x");
        Assert.That(await plus.ReceivePublishesUntilAsync("marker"), Is.Empty, "'+/x' must not match $app/x");
    }

    [Test]
    public async Task SysTopics_ReachExplicitSysFiltersButNotHash()
    {
        await using var broker = new TestBroker();
        PipeClient hash = await broker.ConnectAsync("hash");
        await hash.SubscribeAsync("#");
        PipeClient sys = await broker.ConnectAsync("sys");
        await sys.SubscribeAsync("$SYS/#");
        PipeClient sysWildcard = await broker.ConnectAsync("sys-wildcard");
        await sysWildcard.SubscribeAsync("$SYS/brokers/+/clients/+/connected");

        PipeClient newcomer = await broker.ConnectAsync("newcomer");

        string topic = $"$SYS/brokers/{broker.Broker.Options.NodeName}/clients/newcomer/connected";
        PublishModel viaHash = await ExpectTopicAsync(sys, topic);
        PublishModel viaWildcard = await ExpectTopicAsync(sysWildcard, topic);
        Assert.That(Encoding.UTF8.GetString(viaHash.Payload), Does.Contain("\"clientid\":\"newcomer\""));
        Assert.That(viaWildcard.Payload, Is.EqualTo(viaHash.Payload));
        await newcomer.PublishAsync("marker", "end");
        Assert.That(await hash.ReceivePublishesUntilAsync("marker"), Is.Empty, "'#' must not match $SYS topics [MQTT-4.7.2-1]");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Unsubscribe_StopsDeliveryForThatFilterOnly(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync(new TopicSubscription("a/b", QualityOfService.AtLeastOnce), new TopicSubscription("c/#", QualityOfService.AtMostOnce));
        PipeClient pub = await broker.ConnectAsync("pub", version);

        List<ReasonCode> codes = await sub.UnsubscribeAsync("a/b");

        // 3.1.1 UNSUBACK carries no reason codes [MQTT-3.11.3].
        Assert.That(codes, Is.EqualTo(version == ProtocolVersion.V500 ? new[] { ReasonCode.Success } : Array.Empty<ReasonCode>()));
        await pub.PublishAsync("a/b", "unsubscribed");
        await pub.PublishAsync("c/d", "still subscribed");

        // Deliveries leave in order, so a/b would have arrived first.
        await sub.ExpectPublishAsync("c/d", "still subscribed");
    }

    [Test]
    public async Task Unsubscribe_UnknownFilter_V5GetsNoSubscriptionExisted()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("c/#");

        // 5.0 §3.11.3: 0x11 No subscription existed, per filter.
        // A malformed filter cannot have been subscribed: 0x8F Topic Filter Invalid, as for SUBSCRIBE.
        List<ReasonCode> codes = await sub.UnsubscribeAsync("c/#", "nope", "c/#", "a/#/b", "$share/g");

        Assert.That(codes, Is.EqualTo(new[]
        {
            ReasonCode.Success, ReasonCode.NoSubscriptionExisted, ReasonCode.NoSubscriptionExisted, ReasonCode.TopicFilterInvalid, ReasonCode.TopicFilterInvalid,
        }));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsUnsubscribeError), Is.EqualTo(1));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task OverlappingSubscriptions_DeliverOnceAtTheHighestQoS(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync(new TopicSubscription("a/#", QualityOfService.AtMostOnce), new TopicSubscription("a/+", QualityOfService.ExactlyOnce));
        PipeClient pub = await broker.ConnectAsync("pub", version);

        // [MQTT-3.3.4-2] overlapping subscriptions of one session: one delivery at the highest QoS of them.
        await pub.PublishAsync("a/b", "both match", QualityOfService.ExactlyOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubRec, 1);
        await pub.PublishAsync("a/b/c", "only a/#", QualityOfService.ExactlyOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubRec, 2);
        await pub.PublishAsync("a/end", "marker");

        List<PublishModel> received = await sub.ReceivePublishesUntilAsync("a/end");
        Assert.That(received.Select(p => Encoding.UTF8.GetString(p.Payload)), Is.EqualTo(new[] { "both match", "only a/#" }));
        Assert.That(received[0].QoS, Is.EqualTo(QualityOfService.ExactlyOnce));
        Assert.That(received[1].QoS, Is.EqualTo(QualityOfService.AtMostOnce));
    }

    [Test]
    public async Task OverlappingSubscriptions_CarryEverySubscriptionIdentifierThatMatched()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeWithIdentifierAsync(1, new TopicSubscription("a/#", QualityOfService.AtMostOnce));
        await sub.SubscribeWithIdentifierAsync(2, new TopicSubscription("a/+", QualityOfService.AtLeastOnce));
        await sub.SubscribeAsync("a/b", QualityOfService.AtMostOnce);
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("a/b", "three match", QualityOfService.AtLeastOnce, 1);
        await pub.PublishAsync("a/b/c", "only a/#", QualityOfService.AtLeastOnce, 2);
        await pub.PublishAsync("a/c", "a/# and a/+");

        // [MQTT-3.3.4-3] one delivery with the identifiers of every matching subscription that has one.
        PublishModel three = await sub.ExpectPublishAsync("a/b", "three match");
        Assert.That(three.SubscriptionIdentifiers.Order(), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(three.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        PublishModel one = await sub.ExpectPublishAsync("a/b/c", "only a/#");
        Assert.That(one.SubscriptionIdentifiers, Is.EqualTo(new[] { 1 }));
        Assert.That(one.QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        PublishModel two = await sub.ExpectPublishAsync("a/c", "a/# and a/+");
        Assert.That(two.SubscriptionIdentifiers.Order(), Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public async Task OverlappingSubscriptions_AmongManySubscribers_StillDeliverOnce()
    {
        await using var broker = new TestBroker();
        var others = new List<PipeClient>();
        for (int i = 0; i < 20; i++)
        {
            PipeClient other = await broker.ConnectAsync($"other{i}");
            await other.SubscribeAsync("a/#");
            others.Add(other);
        }

        // Subscribed last, so its matches come after the first sixteen (past the router's linear search).
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync(new TopicSubscription("a/b", QualityOfService.AtMostOnce), new TopicSubscription("a/+", QualityOfService.AtLeastOnce), new TopicSubscription("a/#", QualityOfService.AtMostOnce));
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("a/b", "once", QualityOfService.AtLeastOnce, 1);
        await pub.PublishAsync("a/end", "marker");

        List<PublishModel> received = await sub.ReceivePublishesUntilAsync("a/end");
        Assert.That(received, Has.Count.EqualTo(1));
        Assert.That(received[0].QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        foreach (PipeClient other in others)
        {
            Assert.That(await other.ReceivePublishesUntilAsync("a/end"), Has.Count.EqualTo(1));
        }
    }

    [Test]
    public async Task RetainedMessageOnSubscribe_CarriesTheSubscriptionIdentifier()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("r/1", "retained", QualityOfService.AtLeastOnce, 1, retain: true);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PipeClient sub = await broker.ConnectAsync("sub");

        await sub.SubscribeWithIdentifierAsync(9, new TopicSubscription("r/+", QualityOfService.AtLeastOnce));

        PublishModel retained = await sub.ExpectPublishAsync("r/1", "retained");
        Assert.That(retained.Retain, Is.True);
        Assert.That(retained.SubscriptionIdentifiers, Is.EqualTo(new[] { 9 }));
    }

    [Test]
    public async Task Resubscribe_SameFilter_ReplacesOptionsWithoutDuplicateDelivery()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeWithIdentifierAsync(5, new TopicSubscription("a/b", QualityOfService.AtMostOnce));
        await sub.SubscribeAsync("marker");
        long subscriptions = broker.Broker.Stats.GetCount(StatId.Subscriptions);

        // [MQTT-3.8.4-3] a SUBSCRIBE for an existing filter replaces that subscription.
        Assert.That(await sub.SubscribeWithIdentifierAsync(6, new TopicSubscription("a/b", QualityOfService.AtLeastOnce)), Is.EqualTo(new[] { ReasonCode.GrantedQoS1 }));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Subscriptions), Is.EqualTo(subscriptions));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("a/b", "once", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await pub.PublishAsync("marker", "end");

        List<PublishModel> received = await sub.ReceivePublishesUntilAsync("marker");
        Assert.That(received, Has.Count.EqualTo(1));
        Assert.That(received[0].QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(received[0].SubscriptionIdentifiers, Is.EqualTo(new[] { 6 }));

        // Resubscribing without an identifier removes it.
        await sub.SubscribeAsync("a/b", QualityOfService.AtMostOnce);
        await pub.PublishAsync("a/b", "no id");
        PublishModel noId = await sub.ExpectPublishAsync("a/b", "no id");
        Assert.That(noId.SubscriptionIdentifiers, Is.Empty);
    }

    [Test]
    public async Task NoLocal_OwnPublishesAreNotDelivered()
    {
        await using var broker = new TestBroker();
        PipeClient self = await broker.ConnectAsync("self");
        await self.SubscribeAsync(new TopicSubscription("t", QualityOfService.AtLeastOnce, NoLocal: true), new TopicSubscription("marker", QualityOfService.AtMostOnce));
        PipeClient other = await broker.ConnectAsync("other");
        await other.SubscribeAsync("t");

        await self.PublishAsync("t", "mine", QualityOfService.AtLeastOnce, 1);
        await self.ExpectAckAsync(PacketType.PubAck, 1);
        await self.PublishAsync("marker", "end");

        // [MQTT-3.8.3-3] No Local: not forwarded to the connection that published it; others still get it.
        Assert.That(await self.ReceivePublishesUntilAsync("marker"), Is.Empty);
        await other.ExpectPublishAsync("t", "mine");
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedNoLocal), Is.EqualTo(1));

        await other.PublishAsync("t", "theirs");
        await self.ExpectPublishAsync("t", "theirs");
    }

    [Test]
    public async Task NoLocal_OverlappingSubscriptionWithoutIt_DeliversOnceWithOnlyItsIdentifier()
    {
        await using var broker = new TestBroker();
        PipeClient self = await broker.ConnectAsync("self");
        await self.SubscribeWithIdentifierAsync(1, new TopicSubscription("t", QualityOfService.AtLeastOnce, NoLocal: true));
        await self.SubscribeWithIdentifierAsync(2, new TopicSubscription("#", QualityOfService.AtMostOnce));

        await self.PublishAsync("t", "mine", QualityOfService.AtLeastOnce, 1);

        // The No Local subscription contributes nothing to the publisher's own copy: QoS and identifier come from '#'.
        // The copy is queued while the PUBLISH is handled, so it leaves before the PUBACK.
        PublishModel own = await self.ExpectPublishAsync("t", "mine");
        await self.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(own.SubscriptionIdentifiers, Is.EqualTo(new[] { 2 }));
        Assert.That(own.QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedNoLocal), Is.Zero);
    }

    [Test]
    public async Task WithoutNoLocal_OwnPublishesAreDelivered()
    {
        await using var broker = new TestBroker();
        PipeClient self = await broker.ConnectAsync("self");
        await self.SubscribeAsync("t");

        await self.PublishAsync("t", "mine");

        await self.ExpectPublishAsync("t", "mine");
    }

    [Test]
    public async Task IgnoreLoopDeliver_ClientDoesNotReceiveItsOwnPublishes([Values(ProtocolVersion.V311, ProtocolVersion.V500)] ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.IgnoreLoopDeliver = true);
        PipeClient self = await broker.ConnectAsync("self", version);
        await self.SubscribeAsync(new TopicSubscription("t", QualityOfService.AtLeastOnce), new TopicSubscription("marker", QualityOfService.AtMostOnce));
        PipeClient other = await broker.ConnectAsync("other", version);
        await other.SubscribeAsync("t");

        await self.PublishAsync("t", "mine", QualityOfService.AtLeastOnce, 1);
        await self.ExpectAckAsync(PacketType.PubAck, 1);
        await other.PublishAsync("marker", "end");

        Assert.That(await self.ReceivePublishesUntilAsync("marker"), Is.Empty);
        await other.ExpectPublishAsync("t", "mine");
    }

    [Test]
    public async Task RetainAsPublished_KeepsTheRetainFlagOnNormalDelivery()
    {
        await using var broker = new TestBroker();
        PipeClient cleared = await broker.ConnectAsync("cleared");
        await cleared.SubscribeAsync(new TopicSubscription("t", QualityOfService.AtMostOnce, RetainAsPublished: false));
        PipeClient kept = await broker.ConnectAsync("kept");
        await kept.SubscribeAsync(new TopicSubscription("t", QualityOfService.AtMostOnce, RetainAsPublished: true));
        PipeClient v3 = await broker.ConnectAsync("v3", ProtocolVersion.V311);
        await v3.SubscribeAsync("t");
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("t", "retained", retain: true);

        // [MQTT-3.3.1-12] without Retain As Published (and always in 3.1.1 [MQTT-3.3.1-9]) a live delivery has RETAIN 0;
        // [MQTT-3.3.1-13] with it, the flag as published.
        Assert.That((await cleared.ExpectPublishAsync("t", "retained")).Retain, Is.False);
        Assert.That((await kept.ExpectPublishAsync("t", "retained")).Retain, Is.True);
        Assert.That((await v3.ExpectPublishAsync("t", "retained")).Retain, Is.False);

        // A retained message sent because of a new subscription has RETAIN 1 whatever the option [MQTT-3.3.1-9].
        PipeClient late = await broker.ConnectAsync("late");
        await late.SubscribeAsync(new TopicSubscription("t", QualityOfService.AtMostOnce, RetainAsPublished: false));
        Assert.That((await late.ExpectPublishAsync("t", "retained")).Retain, Is.True);
    }

    [Test]
    public async Task SubscriptionIdentifierZero_IsAProtocolError()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");

        // 5.0 §3.8.2.1.2: "It is a Protocol Error if the Subscription Identifier has a value of 0."
        await sub.SendAsync(new SubscribePacket
        {
            PacketIdentifier = 1,
            Subscriptions = [new TopicSubscription("t", QualityOfService.AtMostOnce)],
            Properties = new MqttProperties { SubscriptionIdentifiers = [0] },
        });

        DisconnectPacket? disconnect = await sub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
    }

    [Test]
    public async Task SubscriptionIdentifiersDisabled_SubscribeWithOneIsRefused()
    {
        await using var broker = new TestBroker(o => o.SubscriptionIdentifierAvailable = false);
        PipeClient sub = await broker.ConnectAsync("sub");
        Assert.That(sub.ConnAck!.Properties?.SubscriptionIdentifierAvailable, Is.EqualTo((byte)0), "CONNACK Subscription Identifiers Available");

        // [MQTT-3.8.2.1.2]/4.13: a server without them answers DISCONNECT 0xA1.
        await sub.SendAsync(new SubscribePacket
        {
            PacketIdentifier = 1,
            Subscriptions = [new TopicSubscription("t", QualityOfService.AtMostOnce)],
            Properties = new MqttProperties { SubscriptionIdentifiers = [7] },
        });

        DisconnectPacket? disconnect = await sub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.SubscriptionIdentifiersNotSupported));
    }

    private static async Task<PublishModel> ExpectTopicAsync(PipeClient client, string topic)
    {
        while (true)
        {
            PublishModel publish = await client.ExpectAsync<PublishModel>();
            if (Encoding.UTF8.GetString(publish.TopicName) == topic)
            {
                return publish;
            }
        }
    }
}
