using System.Text;
using Broker.Core.Configuration;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Shared subscriptions (<c>$share/&lt;group&gt;/&lt;filter&gt;</c> [MQTT-4.8.2] and EMQX's <c>$queue/&lt;filter&gt;</c>): each
/// message goes to one member per group, per strategy. Every member also holds a normal subscription on a marker topic,
/// so "what did each member get" is read exactly: deliveries to a client leave in order, and the marker comes last.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SharedSubscriptionTests
{
    private const string Marker = "marker";

    [TestCase("$share/g/t/#")]
    [TestCase("$queue/t/#")]
    public async Task EachMessageGoesToOneMemberAndToEveryNormalSubscriber(string sharedFilter)
    {
        await using var broker = new TestBroker();
        PipeClient[] members = await ConnectMembersAsync(broker, "m", 2, sharedFilter);
        PipeClient normal = await broker.ConnectAsync("normal");
        await normal.SubscribeAsync(new TopicSubscription("t/#", QualityOfService.AtMostOnce), new TopicSubscription(Marker, QualityOfService.AtMostOnce));
        PipeClient pub = await broker.ConnectAsync("pub");

        List<string> sent = await PublishAsync(pub, "t/x", 10);

        List<string>[] got = await ReceiveAllAsync(members);
        Assert.That(got.SelectMany(g => g), Is.EquivalentTo(sent), "each message exactly once across the group");
        Assert.That((await normal.ReceivePublishesUntilAsync(Marker)).Select(PayloadOf), Is.EqualTo(sent), "a normal subscriber gets every message");
    }

    [Test]
    public async Task TwoGroups_EachGetOneCopy()
    {
        await using var broker = new TestBroker();
        PipeClient[] first = await ConnectMembersAsync(broker, "a", 2, "$share/a/t/#");
        PipeClient[] second = await ConnectMembersAsync(broker, "b", 2, "$share/b/t/+");
        PipeClient pub = await broker.ConnectAsync("pub");

        List<string> sent = await PublishAsync(pub, "t/x", 10);

        Assert.That((await ReceiveAllAsync(first)).SelectMany(g => g), Is.EquivalentTo(sent));
        Assert.That((await ReceiveAllAsync(second)).SelectMany(g => g), Is.EquivalentTo(sent));
    }

    [Test]
    public async Task RoundRobin_MembersTakeTurns()
    {
        await using var broker = new TestBroker(o => o.SharedSubscriptionStrategy = SharedSubscriptionStrategy.RoundRobin);
        PipeClient[] members = await ConnectMembersAsync(broker, "m", 3, "$share/g/t");
        PipeClient pub = await broker.ConnectAsync("pub");

        List<string> sent = await PublishAsync(pub, "t", 9);

        List<string>[] got = await ReceiveAllAsync(members);
        Assert.That(got.SelectMany(g => g), Is.EquivalentTo(sent));
        foreach (List<string> member in got)
        {
            // Three each, every third message: message i goes to member (start + i) mod 3.
            Assert.That(member, Has.Count.EqualTo(3));
            int phase = sent.IndexOf(member[0]) % 3;
            Assert.That(member.Select(m => sent.IndexOf(m)), Is.EqualTo(new[] { phase, phase + 3, phase + 6 }));
        }
    }

    [TestCase(SharedSubscriptionStrategy.Sticky)]
    [TestCase(SharedSubscriptionStrategy.HashClientId)]
    [TestCase(SharedSubscriptionStrategy.HashTopic)]
    public async Task StickyAndHashStrategies_SendOnePublishersTopicToOneMember(SharedSubscriptionStrategy strategy)
    {
        await using var broker = new TestBroker(o => o.SharedSubscriptionStrategy = strategy);
        PipeClient[] members = await ConnectMembersAsync(broker, "m", 3, "$share/g/t");
        PipeClient pub = await broker.ConnectAsync("pub");

        List<string> sent = await PublishAsync(pub, "t", 10);

        List<string>[] got = await ReceiveAllAsync(members);
        Assert.That(got.Count(g => g.Count > 0), Is.EqualTo(1), "one member takes them all");
        Assert.That(got.Single(g => g.Count > 0), Is.EqualTo(sent), "in order");
    }

    [Test]
    public async Task Random_DeliversEveryMessageExactlyOnce()
    {
        await using var broker = new TestBroker(o => o.SharedSubscriptionStrategy = SharedSubscriptionStrategy.Random);
        PipeClient[] members = await ConnectMembersAsync(broker, "m", 3, "$share/g/t/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        List<string> sent = await PublishAsync(pub, "t/r", 30);

        Assert.That((await ReceiveAllAsync(members)).SelectMany(g => g), Is.EquivalentTo(sent));
    }

    [TestCase(SharedSubscriptionStrategy.RoundRobin, false)]
    [TestCase(SharedSubscriptionStrategy.Sticky, false)]
    [TestCase(SharedSubscriptionStrategy.HashClientId, false)]
    [TestCase(SharedSubscriptionStrategy.Random, false)]
    [TestCase(SharedSubscriptionStrategy.RoundRobin, true)]
    [TestCase(SharedSubscriptionStrategy.Sticky, true)]
    [TestCase(SharedSubscriptionStrategy.HashClientId, true)]
    public async Task MemberThatDisconnects_StopsReceivingAndTheGroupContinues(SharedSubscriptionStrategy strategy, bool persistentSession)
    {
        await using var broker = new TestBroker(o => o.SharedSubscriptionStrategy = strategy);
        PipeClient[] members = await ConnectMembersAsync(broker, "m", 2, "$share/g/t", persistentSession);
        PipeClient pub = await broker.ConnectAsync("pub");
        List<string> before = await PublishAsync(pub, "t", 4);
        List<string>[] got = await ReceiveAllAsync(members);
        Assert.That(got.SelectMany(g => g), Is.EquivalentTo(before));

        // Leave with the member that got the last message, so sticky and hash strategies must move on.
        int leaving = got[0].Contains(before[^1]) ? 0 : 1;
        await members[leaving].DisconnectAsync();
        await members[leaving].ExpectClosedAsync();
        PipeClient staying = members[1 - leaving];
        List<string> after = await PublishAsync(pub, "t", 6, first: 4);

        // A persistent member keeps its place in the group, but EMQX (and this broker) prefer a connected member.
        Assert.That((await staying.ReceivePublishesUntilAsync(Marker)).Select(PayloadOf), Is.EqualTo(after));
    }

    [Test]
    public async Task MemberThatUnsubscribes_StopsReceivingAndKeepsItsOtherSubscriptions()
    {
        await using var broker = new TestBroker(o => o.SharedSubscriptionStrategy = SharedSubscriptionStrategy.RoundRobin);
        PipeClient[] members = await ConnectMembersAsync(broker, "m", 2, "$share/g/t");
        await members[0].SubscribeAsync("t");
        PipeClient pub = await broker.ConnectAsync("pub");

        Assert.That(await members[0].UnsubscribeAsync("$share/g/t"), Is.EqualTo(new[] { ReasonCode.Success }));
        List<string> sent = await PublishAsync(pub, "t", 4);

        // Member 0 now gets each message once, through its normal subscription only; member 1 takes the whole group's share.
        Assert.That((await members[0].ReceivePublishesUntilAsync(Marker)).Select(PayloadOf), Is.EqualTo(sent));
        Assert.That((await members[1].ReceivePublishesUntilAsync(Marker)).Select(PayloadOf), Is.EqualTo(sent));
    }

    [Test]
    public async Task SharedDelivery_CarriesTheMembersSubscriptionIdentifier()
    {
        await using var broker = new TestBroker();
        PipeClient member = await broker.ConnectAsync("member");
        await member.SubscribeWithIdentifierAsync(42, new TopicSubscription("$share/g/t/#", QualityOfService.AtLeastOnce));
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("t/x", "shared", QualityOfService.AtLeastOnce, 1);

        PublishModel delivery = await member.ExpectPublishAsync("t/x", "shared");
        Assert.That(delivery.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(delivery.SubscriptionIdentifiers, Is.EqualTo(new[] { 42 }));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task SharedSubscriptionsDisabled_AreRefused(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.SharedSubscriptionAvailable = false);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        if (version == ProtocolVersion.V500)
        {
            Assert.That(sub.ConnAck!.Properties?.SharedSubscriptionAvailable, Is.EqualTo((byte)0), "CONNACK Shared Subscription Available");
        }

        List<ReasonCode> codes = await sub.SubscribeAsync(
            new TopicSubscription("$share/g/t", QualityOfService.AtMostOnce),
            new TopicSubscription("$queue/t", QualityOfService.AtMostOnce),
            new TopicSubscription("t", QualityOfService.AtMostOnce));

        ReasonCode refused = version == ProtocolVersion.V500 ? ReasonCode.SharedSubscriptionsNotSupported : ReasonCode.UnspecifiedError;
        Assert.That(codes, Is.EqualTo(new[] { refused, refused, ReasonCode.GrantedQoS0 }));
    }

    [TestCase("$share/g")]      // no '/' and filter after the share name [MQTT-4.8.2-2]
    [TestCase("$share/g/")]     // an empty filter [MQTT-4.7.3-1]
    [TestCase("$share//t")]     // an empty share name [MQTT-4.8.2-1]
    [TestCase("$share/g+/t")]   // a share name with a wildcard [MQTT-4.8.2-2]
    [TestCase("$share/g/a/#/b")]
    [TestCase("$queue/")]
    public async Task MalformedSharedFilter_IsRefusedWithTopicFilterInvalid(string filter)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");

        Assert.That(await sub.SubscribeAsync(filter), Is.EqualTo(new[] { ReasonCode.TopicFilterInvalid }));
    }

    [TestCase("$share/g/t")]
    [TestCase("$queue/t")]
    public async Task NoLocalOnASharedSubscription_IsAProtocolError(string filter)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 600 });

        // [MQTT-3.8.3-4] "It is a Protocol Error to set the No Local bit to 1 on a Shared Subscription."
        await sub.SendAsync(new SubscribePacket
        {
            PacketIdentifier = 1,
            Subscriptions = [new TopicSubscription("plain", QualityOfService.AtMostOnce), new TopicSubscription(filter, QualityOfService.AtMostOnce, NoLocal: true)],
        });

        DisconnectPacket? disconnect = await sub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));

        // The session outlives the connection, and the refused packet subscribed nothing (EMQX checks the whole packet first).
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("t", "to nobody", QualityOfService.AtLeastOnce, 1);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));
        await pub.PublishAsync("plain", "to nobody", QualityOfService.AtLeastOnce, 2);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 2)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));
    }

    [Test]
    public async Task RetainedMessages_AreNotSentToANewSharedSubscription()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("t", "retained", QualityOfService.AtLeastOnce, 1, retain: true);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PipeClient member = await broker.ConnectAsync("member");

        // As EMQX: a shared subscription is a work queue, not a state subscription (5.0 §4.8.2 leaves it open).
        await member.SubscribeAsync(new TopicSubscription("$share/g/t", QualityOfService.AtMostOnce), new TopicSubscription(Marker, QualityOfService.AtMostOnce));
        await pub.PublishAsync(Marker, "end");

        Assert.That(await member.ReceivePublishesUntilAsync(Marker), Is.Empty);
    }

    private static async Task<PipeClient[]> ConnectMembersAsync(TestBroker broker, string prefix, int count, string sharedFilter, bool persistentSession = false)
    {
        var members = new PipeClient[count];
        for (int i = 0; i < count; i++)
        {
            members[i] = await broker.ConnectAsync($"{prefix}{i}", configure: persistentSession ? c => c.Properties = new MqttProperties { SessionExpiryInterval = 600 } : null);
            List<ReasonCode> codes = await members[i].SubscribeAsync(new TopicSubscription(sharedFilter, QualityOfService.AtMostOnce), new TopicSubscription(Marker, QualityOfService.AtMostOnce));
            Assert.That(codes, Is.EqualTo(new[] { ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS0 }));
        }

        return members;
    }

    /// <summary>Publishes payloads "m{first}".."m{first+count-1}" to <paramref name="topic"/>, then the marker.</summary>
    private static async Task<List<string>> PublishAsync(PipeClient pub, string topic, int count, int first = 0)
    {
        var sent = new List<string>(count);
        for (int i = first; i < first + count; i++)
        {
            string payload = $"m{i}";
            await pub.PublishAsync(topic, payload);
            sent.Add(payload);
        }

        await pub.PublishAsync(Marker, "end");
        return sent;
    }

    private static async Task<List<string>[]> ReceiveAllAsync(PipeClient[] members)
    {
        var got = new List<string>[members.Length];
        for (int i = 0; i < members.Length; i++)
        {
            got[i] = [.. (await members[i].ReceivePublishesUntilAsync(Marker)).Select(PayloadOf)];
        }

        return got;
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task MemberSessionEndingUnacknowledged_MessagesGoToAnotherMember(ProtocolVersion version)
    {
        // One slot in flight, so of two messages one is inflight and one queued when the member goes away.
        await using var broker = new TestBroker(o => o.MaximumInflight = 1);
        PipeClient first = await broker.ConnectAsync("first", version);
        await first.SubscribeAsync("$share/g/jobs", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("jobs", "j1", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await pub.PublishAsync("jobs", "j2", QualityOfService.AtLeastOnce, 2);
        await pub.ExpectAckAsync(PacketType.PubAck, 2);
        await first.ExpectPublishAsync("jobs", "j1");

        PipeClient second = await broker.ConnectAsync("second", version);
        await second.SubscribeAsync("$share/g/jobs", QualityOfService.AtLeastOnce);
        await first.DropAsync();

        // The clean session ends with its connection; EMQX hands its unacknowledged shared messages on.
        PublishModel j1 = await second.ExpectPublishAsync("jobs", "j1");
        await second.SendAckAsync(PacketType.PubAck, j1.PacketIdentifier);
        PublishModel j2 = await second.ExpectPublishAsync("jobs", "j2");
        await second.SendAckAsync(PacketType.PubAck, j2.PacketIdentifier);
        await second.PingAsync();
    }

    [Test]
    public async Task LastMemberEnding_SharedMessagesAreDroppedAndCounted()
    {
        await using var broker = new TestBroker();
        PipeClient only = await broker.ConnectAsync("only");
        await only.SubscribeAsync("$share/g/jobs", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("jobs", "j1", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await only.ExpectPublishAsync("jobs", "j1");
        long droppedBefore = broker.Broker.Counters.Get(CounterId.DeliveryDropped);

        await only.DropAndWaitAsync();

        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDropped), Is.EqualTo(droppedBefore + 1));
        Assert.That(broker.Broker.GetRoutes(), Is.Empty);
    }

    private static string PayloadOf(PublishModel publish) => Encoding.UTF8.GetString(publish.Payload);
}
