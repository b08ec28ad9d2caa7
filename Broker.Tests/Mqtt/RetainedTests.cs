using System.Text;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>Retained messages as a client sees them [MQTT-3.3.1-5..13], and the retained gauges.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class RetainedTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Retained_DeliveredOnSubscribe_WithRetainFlagAtMinimumQoS(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await PublishRetainedAsync(pub, "r/t", "kept", QualityOfService.AtLeastOnce, 1);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(1));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Retained), Is.EqualTo(1));

        // Sent because of a new subscription, so RETAIN is 1 (3.1.1 [MQTT-3.3.1-8]); QoS is the lower of the two (5.0 [MQTT-3.8.4-8]).
        PipeClient low = await broker.ConnectAsync("low", version);
        await low.SubscribeAsync("r/t", QualityOfService.AtMostOnce);
        PublishModel atZero = await low.ExpectPublishAsync("r/t", "kept");
        Assert.That(atZero.Retain, Is.True);
        Assert.That(atZero.QoS, Is.EqualTo(QualityOfService.AtMostOnce));

        PipeClient high = await broker.ConnectAsync("high", version);
        await high.SubscribeAsync("r/t", QualityOfService.ExactlyOnce);
        PublishModel atOne = await high.ExpectPublishAsync("r/t", "kept");
        Assert.That(atOne.Retain, Is.True);
        Assert.That(atOne.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await high.SendAckAsync(PacketType.PubAck, atOne.PacketIdentifier);
        await high.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task RetainedPublish_ToEstablishedSubscriber_HasRetainFlagCleared(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("r/live", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await PublishRetainedAsync(pub, "r/live", "now", QualityOfService.AtLeastOnce, 1);

        // 3.1.1 [MQTT-3.3.1-9]; 5.0 Retain As Published 0 [MQTT-3.3.1-12].
        PublishModel live = await sub.ExpectPublishAsync("r/live", "now");
        Assert.That(live.Retain, Is.False);
    }

    [Test]
    public async Task RetainAsPublished_KeepsRetainFlagOnLiveDelivery()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync(new TopicSubscription("r/rap", QualityOfService.AtMostOnce, RetainAsPublished: true));
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("r/rap", "kept", retain: true);
        Assert.That((await sub.ExpectPublishAsync("r/rap", "kept")).Retain, Is.True, "[MQTT-3.3.1-13]");
        await pub.PublishAsync("r/rap", "plain");
        Assert.That((await sub.ExpectPublishAsync("r/rap", "plain")).Retain, Is.False);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Retained_Replaced_OnlyLatestDelivered(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await PublishRetainedAsync(pub, "r/t", "one", QualityOfService.AtLeastOnce, 1);
        await PublishRetainedAsync(pub, "r/t", "two", QualityOfService.AtLeastOnce, 2);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(1));

        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("r/t");
        await sub.ExpectPublishAsync("r/t", "two");
        await sub.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task EmptyRetainedPayload_DeletesRetained_AndIsStillRoutedToSubscribers(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await PublishRetainedAsync(pub, "r/d", "x", QualityOfService.AtLeastOnce, 1);
        PipeClient watch = await broker.ConnectAsync("watch", version);
        await watch.SubscribeAsync("r/d");
        await watch.ExpectPublishAsync("r/d", "x");

        // An empty retained payload removes the retained message and is not stored, but is routed as normal
        // (3.1.1 [MQTT-3.3.1-10], [MQTT-3.3.1-11]; 5.0 [MQTT-3.3.1-6], [MQTT-3.3.1-7]).
        await PublishRetainedAsync(pub, "r/d", "", QualityOfService.AtLeastOnce, 2);
        PublishModel empty = await watch.ExpectPublishAsync("r/d", "");
        Assert.That(empty.Payload, Is.Empty);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.Zero);
        Assert.That(broker.Broker.Stats.GetCount(StatId.Retained), Is.Zero);
        Assert.That(broker.Broker.Retained.Count, Is.Zero);

        PipeClient late = await broker.ConnectAsync("late", version);
        await late.SubscribeAsync("r/d");
        await late.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task WildcardSubscribe_GetsEveryMatchingRetained_ButNotDollarTopicsThroughLeadingWildcard(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        ushort id = 1;
        foreach (string topic in new[] { "a/1", "a/2", "a/x/3", "b/1", "$app/x" })
        {
            await PublishRetainedAsync(pub, topic, "v-" + topic, QualityOfService.AtLeastOnce, id++);
        }

        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(5));

        PipeClient a = await broker.ConnectAsync("a", version);
        await a.SubscribeAsync("a/#");
        Assert.That(await ReceiveTopicsAsync(a, 3), Is.EquivalentTo(new[] { "a/1", "a/2", "a/x/3" }));

        PipeClient plus = await broker.ConnectAsync("plus", version);
        await plus.SubscribeAsync("+/1");
        Assert.That(await ReceiveTopicsAsync(plus, 2), Is.EquivalentTo(new[] { "a/1", "b/1" }));

        // [MQTT-4.7.2-1]: "#" and "+/x" do not match topics starting with '$'.
        PipeClient all = await broker.ConnectAsync("all", version);
        await all.SubscribeAsync(new TopicSubscription("#", QualityOfService.AtMostOnce), new TopicSubscription("+/x", QualityOfService.AtMostOnce));
        Assert.That(await ReceiveTopicsAsync(all, 4), Is.EquivalentTo(new[] { "a/1", "a/2", "a/x/3", "b/1" }));
        await all.ExpectNothingAsync();

        PipeClient dollar = await broker.ConnectAsync("dollar", version);
        await dollar.SubscribeAsync("$app/#");
        PublishModel app = await dollar.ExpectPublishAsync("$app/x", "v-$app/x");
        Assert.That(app.Retain, Is.True);
    }

    [Test]
    public async Task RetainHandling_SendAlways_SendOnNewOnly_Never()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        await PublishRetainedAsync(pub, "r/h", "v", QualityOfService.AtLeastOnce, 1);

        // 0: on every SUBSCRIBE, a repeated one included [MQTT-3.3.1-9].
        PipeClient always = await broker.ConnectAsync("always");
        await always.SubscribeAsync(new TopicSubscription("r/h", QualityOfService.AtMostOnce, RetainHandling: RetainHandling.SendOnSubscribe));
        await always.ExpectPublishAsync("r/h", "v");
        await always.SubscribeAsync(new TopicSubscription("r/h", QualityOfService.AtMostOnce, RetainHandling: RetainHandling.SendOnSubscribe));
        await always.ExpectPublishAsync("r/h", "v");

        // 1: only when the subscription did not exist [MQTT-3.3.1-10].
        PipeClient onNew = await broker.ConnectAsync("onNew");
        await onNew.SubscribeAsync(new TopicSubscription("r/h", QualityOfService.AtMostOnce, RetainHandling: RetainHandling.SendOnNewSubscribe));
        await onNew.ExpectPublishAsync("r/h", "v");
        await onNew.SubscribeAsync(new TopicSubscription("r/h", QualityOfService.AtLeastOnce, RetainHandling: RetainHandling.SendOnNewSubscribe));
        await onNew.ExpectNothingAsync();

        // 2: never [MQTT-3.3.1-11]; live messages still arrive.
        PipeClient never = await broker.ConnectAsync("never");
        await never.SubscribeAsync(new TopicSubscription("r/h", QualityOfService.AtMostOnce, RetainHandling: RetainHandling.DoNotSend));
        await never.ExpectNothingAsync();
        await pub.PublishAsync("r/h", "live");
        await never.ExpectPublishAsync("r/h", "live");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task RetainedWithMessageExpiry_DeliveredWithRemainingLifetime_ThenExpires(ProtocolVersion subscriberVersion)
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.SendAsync(new PublishModel
        {
            TopicName = "r/e"u8.ToArray(),
            Payload = "soon"u8.ToArray(),
            QoS = QualityOfService.AtLeastOnce,
            PacketIdentifier = 1,
            Retain = true,
            HasMessageExpiry = true,
            MessageExpiryInterval = 10,
        });
        await pub.ExpectAckAsync(PacketType.PubAck, 1);

        broker.Advance(TimeSpan.FromSeconds(4));
        PipeClient early = await broker.ConnectAsync("early", subscriberVersion);
        await early.SubscribeAsync("r/e");
        PublishModel delivered = await early.ExpectPublishAsync("r/e", "soon");
        Assert.That(delivered.Retain, Is.True);
        if (subscriberVersion == ProtocolVersion.V500)
        {
            // [MQTT-3.3.2-6]: the interval forwarded is what is left of it.
            Assert.That(delivered.HasMessageExpiry, Is.True);
            Assert.That(delivered.MessageExpiryInterval, Is.EqualTo(6));
        }

        broker.Advance(TimeSpan.FromSeconds(6));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.Zero, "expired retained messages leave the store");
        Assert.That(broker.Broker.Stats.GetCount(StatId.Retained), Is.Zero);

        PipeClient late = await broker.ConnectAsync("late", subscriberVersion);
        await late.SubscribeAsync("r/#");
        await late.ExpectNothingAsync();
    }

    [Test]
    public async Task RetainNotAvailable_V5RetainedPublish_GetsDisconnect0x9A()
    {
        await using var broker = new TestBroker(o => o.RetainAvailable = false);
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("r/#");
        PipeClient pub = await broker.ConnectAsync("pub");
        Assert.That(pub.ConnAck!.Properties?.RetainAvailable, Is.EqualTo((byte)0), "CONNACK Retain Available");

        await pub.PublishAsync("r/ok", "plain");
        await sub.ExpectPublishAsync("r/ok", "plain");

        // [MQTT-3.2.2-14]: a retained PUBLISH when Retain Available is 0 is answered with DISCONNECT 0x9A.
        await pub.PublishAsync("r/no", "kept", retain: true);
        DisconnectPacket? disconnect = await pub.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.RetainNotSupported));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishError), Is.EqualTo(1));
        Assert.That(broker.Broker.Retained.Count, Is.Zero);
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task RetainNotAvailable_V311RetainedPublish_ClosesConnection()
    {
        await using var broker = new TestBroker(o => o.RetainAvailable = false);
        PipeClient pub = await broker.ConnectAsync("pub", ProtocolVersion.V311);
        await pub.PublishAsync("r/no", "kept", retain: true);
        Assert.That(await pub.ExpectClosedAsync(), Is.Null, "3.1.1 has no DISCONNECT from the server");
        Assert.That(broker.Broker.Retained.Count, Is.Zero);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task RetainerDisabled_RetainedPublishIsRoutedButNotStored(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.RetainerEnabled = false);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("r/x");
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await PublishRetainedAsync(pub, "r/x", "v", QualityOfService.AtLeastOnce, 1);
        await sub.ExpectPublishAsync("r/x", "v");
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.Zero);

        PipeClient late = await broker.ConnectAsync("late", version);
        await late.SubscribeAsync("r/x");
        await late.ExpectNothingAsync();
    }

    [Test]
    public async Task MaximumRetainedMessages_RefusesNewTopicsWhenFull_ButReplacesAndStillRoutes()
    {
        await using var broker = new TestBroker(o => o.MaximumRetainedMessages = 2);
        PipeClient live = await broker.ConnectAsync("live");
        await live.SubscribeAsync("t/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        await PublishRetainedAsync(pub, "t/1", "1", QualityOfService.AtLeastOnce, 1);
        await PublishRetainedAsync(pub, "t/2", "2", QualityOfService.AtLeastOnce, 2);
        await PublishRetainedAsync(pub, "t/3", "3", QualityOfService.AtLeastOnce, 3);
        Assert.That(await ReceiveTopicsAsync(live, 3), Is.EqualTo(new[] { "t/1", "t/2", "t/3" }), "the refused one is still routed");
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(2));

        await PublishRetainedAsync(pub, "t/1", "1b", QualityOfService.AtLeastOnce, 4);
        await PublishRetainedAsync(pub, "t/2", "", QualityOfService.AtLeastOnce, 5);
        await PublishRetainedAsync(pub, "t/3", "3b", QualityOfService.AtLeastOnce, 6);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(2));

        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("t/#");
        List<PublishModel> retained = [await sub.ExpectAsync<PublishModel>(), await sub.ExpectAsync<PublishModel>()];
        Assert.That(retained.Select(p => Encoding.UTF8.GetString(p.TopicName) + "=" + Encoding.UTF8.GetString(p.Payload)), Is.EquivalentTo(new[] { "t/1=1b", "t/3=3b" }));
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task MaximumRetainedPayloadSize_LargerPayloadIsRoutedButNotStored()
    {
        await using var broker = new TestBroker(o => o.MaximumRetainedPayloadSize = 4);
        PipeClient live = await broker.ConnectAsync("live");
        await live.SubscribeAsync("p/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        await PublishRetainedAsync(pub, "p/big", "12345", QualityOfService.AtLeastOnce, 1);
        await PublishRetainedAsync(pub, "p/fits", "1234", QualityOfService.AtLeastOnce, 2);
        Assert.That(await ReceiveTopicsAsync(live, 2), Is.EqualTo(new[] { "p/big", "p/fits" }));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(1));

        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("p/#");
        await sub.ExpectPublishAsync("p/fits", "1234");
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task SharedSubscription_GetsNoRetainedMessages()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        await PublishRetainedAsync(pub, "s/1", "v", QualityOfService.AtLeastOnce, 1);

        // 5.0 section 3.8.4: only a new non-shared subscription gets the retained messages.
        PipeClient member = await broker.ConnectAsync("member");
        await member.SubscribeAsync("$share/g/s/#");
        await member.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task BrokerPublish_FromEmbeddingCode_ReachesSubscribersAndRetains(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("api/#", QualityOfService.AtLeastOnce);

        int reached = broker.Broker.Publish(new Message("api/plain"u8, "hello"u8, QualityOfService.AtLeastOnce, retain: false));
        Assert.That(reached, Is.EqualTo(1));
        PublishModel plain = await sub.ExpectPublishAsync("api/plain", "hello");
        Assert.That(plain.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await sub.SendAckAsync(PacketType.PubAck, plain.PacketIdentifier);

        broker.Broker.Publish(new Message("api/kept"u8, "state"u8, QualityOfService.AtMostOnce, retain: true));
        await sub.ExpectPublishAsync("api/kept", "state");
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesPublish), Is.EqualTo(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(1));

        PipeClient late = await broker.ConnectAsync("late", version);
        await late.SubscribeAsync("api/#");
        Assert.That((await late.ExpectPublishAsync("api/kept", "state")).Retain, Is.True);
    }

    /// <summary>Publishes with RETAIN and, above QoS 0, waits for the acknowledgement so the store is settled.</summary>
    private static async Task PublishRetainedAsync(PipeClient client, string topic, string payload, QualityOfService qos, ushort packetId)
    {
        await client.PublishAsync(topic, payload, qos, packetId, retain: true);
        if (qos == QualityOfService.AtLeastOnce)
        {
            await client.ExpectAckAsync(PacketType.PubAck, packetId);
        }
    }

    private static async Task<List<string>> ReceiveTopicsAsync(PipeClient client, int count)
    {
        var topics = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            PublishModel publish = await client.ExpectAsync<PublishModel>();
            topics.Add(Encoding.UTF8.GetString(publish.TopicName));
        }

        return topics;
    }
}
