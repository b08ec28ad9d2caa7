using System.Text;
using Broker.Core.Codec;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// v5 PUBLISH features end to end: topic aliases both ways, Message Expiry Interval through an offline queue,
/// forwarded properties, and Maximum Packet Size in both directions.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PublishFeatureTests
{
    private static readonly byte[] s_topic = "t/long/topic/name"u8.ToArray();

    [Test]
    public async Task ClientTopicAlias_SetWithTopicThenAliasOnly_IsResolved()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("t/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.SendAsync(new PublishModel { TopicName = s_topic, TopicAlias = 1, Payload = "one"u8.ToArray() });
        await pub.SendAsync(new PublishModel { TopicName = [], TopicAlias = 1, Payload = "two"u8.ToArray() });
        // [MQTT-3.3.2.3.4] a topic with a known alias replaces the mapping.
        await pub.SendAsync(new PublishModel { TopicName = "t/other"u8.ToArray(), TopicAlias = 1, Payload = "three"u8.ToArray() });
        await pub.SendAsync(new PublishModel { TopicName = [], TopicAlias = 1, Payload = "four"u8.ToArray(), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 1 });

        await sub.ExpectPublishAsync("t/long/topic/name", "one");
        await sub.ExpectPublishAsync("t/long/topic/name", "two");
        await sub.ExpectPublishAsync("t/other", "three");
        await sub.ExpectPublishAsync("t/other", "four");
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
    }

    [TestCase(0)] // [MQTT-3.3.2-8] alias 0 is not permitted
    [TestCase(6)] // [MQTT-3.3.2-9] above the Topic Alias Maximum in our CONNACK
    public async Task ClientTopicAlias_OutsideOneToMaximum_DisconnectsWithTopicAliasInvalid(int alias)
    {
        await using var broker = new TestBroker(o => o.MaximumTopicAlias = 5);
        PipeClient pub = await broker.ConnectAsync("pub");
        Assert.That(pub.ConnAck!.Properties?.TopicAliasMaximum, Is.EqualTo((ushort)5), "CONNACK Topic Alias Maximum");

        // Raw bytes: the encoder leaves a Topic Alias of 0 out.
        await pub.SendAsync(PacketBuilder.Frame(0x30, Hex.Parse("00 01 't'"), PacketBuilder.Properties([0x23, 0, (byte)alias]), "x"u8.ToArray()));

        // 5.0 §3.3.4: 0 or above the maximum is a Protocol Error answered with DISCONNECT 0x94.
        Assert.That((await pub.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.TopicAliasInvalid));
    }

    [Test]
    public async Task ClientTopicAlias_WhenTheBrokerAllowsNone_DisconnectsWithTopicAliasInvalid()
    {
        await using var broker = new TestBroker(o => o.MaximumTopicAlias = 0);
        PipeClient pub = await broker.ConnectAsync("pub");
        Assert.That(pub.ConnAck!.Properties?.TopicAliasMaximum ?? 0, Is.Zero, "CONNACK Topic Alias Maximum");

        await pub.SendAsync(new PublishModel { TopicName = s_topic, TopicAlias = 1, Payload = "x"u8.ToArray() });

        Assert.That((await pub.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.TopicAliasInvalid));
    }

    [Test]
    public async Task ClientTopicAlias_AliasOnlyWithUnknownAlias_IsAProtocolError()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.SendAsync(new PublishModel { TopicName = s_topic, TopicAlias = 1, Payload = "x"u8.ToArray() });

        await pub.SendAsync(new PublishModel { TopicName = [], TopicAlias = 2, Payload = "y"u8.ToArray() });

        // 5.0 §3.3.4: "If the receiver does not already have a mapping for this Topic Alias ... [and] the packet has a
        // zero length Topic Name field it is a Protocol Error" (0x82; 0x94 is for aliases outside 1..maximum). EMQX agrees.
        Assert.That((await pub.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
    }

    [Test]
    public async Task ClientTopicAlias_DoesNotSurviveAReconnect()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("pub", configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 600 });
        await first.SendAsync(new PublishModel { TopicName = s_topic, TopicAlias = 1, Payload = "x"u8.ToArray() });
        await first.DisconnectAsync();
        await first.ExpectClosedAsync();
        PipeClient second = await broker.ConnectAsync("pub", cleanStart: false, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 600 });

        // [MQTT-3.3.2-7] alias mappings belong to the Network Connection, not the session.
        await second.SendAsync(new PublishModel { TopicName = [], TopicAlias = 1, Payload = "y"u8.ToArray() });

        Assert.That((await second.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
    }

    [Test]
    public async Task ServerTopicAlias_FirstDeliveryCarriesTopicAndAliasLaterOnesOnlyTheAlias()
    {
        await using var broker = new TestBroker();
        PipeClient aliased = await broker.ConnectAsync("aliased", configure: c => c.Properties = new MqttProperties { TopicAliasMaximum = 10 });
        await aliased.SubscribeAsync("t/#");
        PipeClient plain = await broker.ConnectAsync("plain");
        await plain.SubscribeAsync("t/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("t/long/topic/name", "1");
        await pub.PublishAsync("t/long/topic/name", "2");
        await pub.PublishAsync("t/b", "3");
        await pub.PublishAsync("t/long/topic/name", "4");

        PublishModel first = await aliased.ExpectPublishAsync("t/long/topic/name", "1");
        Assert.That(first.TopicAlias, Is.EqualTo(1));
        PublishModel second = await aliased.ExpectPublishAsync("", "2");
        Assert.That(second.TopicAlias, Is.EqualTo(1));
        Assert.That(WireSize(second), Is.LessThan(WireSize(first)), "an alias-only PUBLISH is smaller on the wire");
        PublishModel third = await aliased.ExpectPublishAsync("t/b", "3");
        Assert.That(third.TopicAlias, Is.EqualTo(2));
        PublishModel fourth = await aliased.ExpectPublishAsync("", "4");
        Assert.That(fourth.TopicAlias, Is.EqualTo(1));

        // A client that did not send Topic Alias Maximum allows none [MQTT-3.3.2-10].
        foreach (string payload in new[] { "1", "2" })
        {
            Assert.That((await plain.ExpectPublishAsync("t/long/topic/name", payload)).TopicAlias, Is.Zero);
        }

        Assert.That((await plain.ExpectPublishAsync("t/b", "3")).TopicAlias, Is.Zero);
        Assert.That((await plain.ExpectPublishAsync("t/long/topic/name", "4")).TopicAlias, Is.Zero);
    }

    [Test]
    public async Task ServerTopicAlias_NeverMoreThanTheClientsMaximum()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", configure: c => c.Properties = new MqttProperties { TopicAliasMaximum = 1 });
        await sub.SubscribeAsync("t/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("t/a", "1");
        await pub.PublishAsync("t/b", "2");
        await pub.PublishAsync("t/b", "3");
        await pub.PublishAsync("t/a", "4");

        Assert.That((await sub.ExpectPublishAsync("t/a", "1")).TopicAlias, Is.EqualTo(1));
        Assert.That((await sub.ExpectPublishAsync("t/b", "2")).TopicAlias, Is.Zero);
        Assert.That((await sub.ExpectPublishAsync("t/b", "3")).TopicAlias, Is.Zero);
        Assert.That((await sub.ExpectPublishAsync("", "4")).TopicAlias, Is.EqualTo(1));
    }

    [Test]
    public async Task MessageExpiry_QueuedMessageThatExpiresBeforeReconnect_IsDropped()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ConnectPersistentAsync(broker, "sub", cleanStart: true);
        await sub.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.SendAsync(Publish("t", "short-lived", QualityOfService.AtLeastOnce, 1, expiry: 5));
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        await pub.SendAsync(Publish("t", "no expiry", QualityOfService.AtLeastOnce, 2));
        await pub.ExpectAckAsync(PacketType.PubAck, 2);
        broker.Advance(TimeSpan.FromSeconds(6));
        PipeClient back = await ConnectPersistentAsync(broker, "sub", cleanStart: false);

        // [MQTT-3.3.2-5] an expired message is not delivered to a subscriber.
        Assert.That(back.ConnAck!.SessionPresent, Is.True);
        PublishModel delivered = await back.ExpectPublishAsync("t", "no expiry");
        Assert.That(delivered.HasMessageExpiry, Is.False);
        await back.SendAckAsync(PacketType.PubAck, delivered.PacketIdentifier);
        await back.PingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedExpired), Is.EqualTo(1));
    }

    [Test]
    public async Task MessageExpiry_DeliveryCarriesTheRemainingInterval()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await ConnectPersistentAsync(broker, "sub", cleanStart: true);
        await sub.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        await sub.DisconnectAsync();
        await sub.ExpectClosedAsync();
        PipeClient live = await broker.ConnectAsync("live");
        await live.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.SendAsync(Publish("t", "sixty", QualityOfService.AtLeastOnce, 1, expiry: 60));
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PublishModel now = await live.ExpectPublishAsync("t", "sixty");
        broker.Advance(TimeSpan.FromSeconds(10));
        PipeClient back = await ConnectPersistentAsync(broker, "sub", cleanStart: false);

        // [MQTT-3.3.2-6] the interval sent on is the one received minus the time the message waited in the server.
        Assert.That(now.HasMessageExpiry, Is.True);
        Assert.That(now.MessageExpiryInterval, Is.EqualTo(60));
        PublishModel later = await back.ExpectPublishAsync("t", "sixty");
        Assert.That(later.HasMessageExpiry, Is.True);
        Assert.That(later.MessageExpiryInterval, Is.EqualTo(50));
    }

    [Test]
    public async Task MessageProperties_ArriveByteExact()
    {
        await using var broker = new TestBroker();
        byte[] properties = PacketEncoder.EncodeMessageProperties(new MqttProperties
        {
            PayloadFormatIndicator = 1,
            ContentType = "application/json",
            ResponseTopic = "reply/to/me",
            CorrelationData = [0x00, 0xFF, 0x10, 0x80],
            UserProperties = [new("k", "v1"), new("k", "v2"), new("ünï", "çødé")],
        });
        PipeClient qos0 = await broker.ConnectAsync("qos0");
        await qos0.SubscribeAsync("t");
        PipeClient qos1 = await broker.ConnectAsync("qos1");
        await qos1.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        PipeClient v3 = await broker.ConnectAsync("v3", ProtocolVersion.V311);
        await v3.SubscribeAsync("t");
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("t", "{\"a\":1}", QualityOfService.AtLeastOnce, 1, retain: true, properties: properties);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);

        // [MQTT-3.3.2-17..20], [MQTT-3.3.2-4]: forwarded unaltered; user properties in order [MQTT-3.3.2-18].
        Assert.That((await qos0.ExpectPublishAsync("t", "{\"a\":1}")).Properties, Is.EqualTo(properties));
        Assert.That((await qos1.ExpectPublishAsync("t", "{\"a\":1}")).Properties, Is.EqualTo(properties));
        Assert.That((await v3.ExpectPublishAsync("t", "{\"a\":1}")).Properties, Is.Empty);
        PipeClient late = await broker.ConnectAsync("late");
        await late.SubscribeAsync("t");
        PublishModel retained = await late.ExpectPublishAsync("t", "{\"a\":1}");
        Assert.That(retained.Retain, Is.True);
        Assert.That(retained.Properties, Is.EqualTo(properties), "the retained copy keeps them too");
    }

    [TestCase("reply/+")]
    [TestCase("reply/#")]
    public async Task ResponseTopicWithWildcards_IsAProtocolError(string responseTopic)
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        byte[] properties = PacketEncoder.EncodeMessageProperties(new MqttProperties { ResponseTopic = responseTopic });

        await pub.PublishAsync("t", "request", properties: properties);

        // [MQTT-3.3.2-14] the Response Topic is a topic name: no wildcards. EMQX answers 0x82 as well.
        Assert.That((await pub.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Publish_LargerThanMaxPacketSize_ClosesWithPacketTooLarge(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumPacketSize = 128);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("t");
        PipeClient pub = await broker.ConnectAsync("pub", version);
        if (version == ProtocolVersion.V500)
        {
            Assert.That(pub.ConnAck!.Properties?.MaximumPacketSize, Is.EqualTo(128u), "CONNACK Maximum Packet Size");
        }

        await pub.PublishAsync("t", new byte[100]);
        await sub.ExpectPublishAsync("t");
        await pub.PublishAsync("t", new byte[200]);

        // [MQTT-3.2.2-15]/4.13: v5 gets DISCONNECT 0x95; 3.1.1 has no way to say it and is closed.
        await pub.ExpectClosedWithAsync(ReasonCode.PacketTooLarge);
    }

    [TestCase(QualityOfService.AtMostOnce)]
    [TestCase(QualityOfService.AtLeastOnce)]
    public async Task Delivery_LargerThanTheClientsMaximumPacketSize_IsDroppedSmallerOnesSent(QualityOfService qos)
    {
        const int ClientMaximum = 64;
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", configure: c => c.Properties = new MqttProperties { MaximumPacketSize = ClientMaximum });
        await sub.SubscribeAsync("t", qos);
        PipeClient pub = await broker.ConnectAsync("pub");
        int fits = PayloadToFill(ClientMaximum, "t", qos);

        await pub.PublishAsync("t", Filled(fits, 'a'), qos, 1);
        await pub.PublishAsync("t", Filled(fits + 1, 'b'), qos, 2);
        await pub.PublishAsync("t", "small", qos, 3);
        for (ushort id = 1; qos != QualityOfService.AtMostOnce && id <= 3; id++)
        {
            await pub.ExpectAckAsync(PacketType.PubAck, id);
        }

        await pub.PingAsync();

        // [MQTT-3.1.2-25] the server must not send a packet above the client's Maximum Packet Size; it discards it.
        PublishModel exact = await sub.ExpectPublishAsync("t", Filled(fits, 'a'));
        Assert.That(WireSize(exact), Is.EqualTo(ClientMaximum));
        await sub.ExpectPublishAsync("t", "small");
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedTooLarge), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDropped), Is.EqualTo(1));
    }

    [Test]
    public async Task ServerTopicAlias_NeverPushesADeliveryOverTheClientsMaximumPacketSize()
    {
        const int ClientMaximum = 64;
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", configure: c => c.Properties = new MqttProperties { MaximumPacketSize = ClientMaximum, TopicAliasMaximum = 10 });
        await sub.SubscribeAsync("t/#");
        PipeClient pub = await broker.ConnectAsync("pub");
        int fitsLong = PayloadToFill(ClientMaximum, "t/x", QualityOfService.AtMostOnce);
        int fitsShort = PayloadToFill(ClientMaximum, "t", QualityOfService.AtMostOnce);

        // Exactly the maximum without an alias: adding topic and alias (3 bytes) would exceed it.
        await pub.PublishAsync("t/x", Filled(fitsLong, 'a'));
        await pub.PublishAsync("t/x", "small");
        await pub.PublishAsync("t/x", "small again");
        // A one-byte topic: the alias-only form (3 bytes of property for 1 byte of topic) is the larger one.
        await pub.PublishAsync("t", "short");
        await pub.PublishAsync("t", Filled(fitsShort, 'b'));

        PublishModel full = await sub.ExpectPublishAsync("t/x", Filled(fitsLong, 'a'));
        Assert.That(WireSize(full), Is.LessThanOrEqualTo(ClientMaximum));
        PublishModel small = await sub.ExpectPublishAsync("t/x", "small");
        Assert.That(small.TopicAlias, Is.Not.Zero, "the alias is still assigned on the next delivery that fits");
        Assert.That((await sub.ExpectPublishAsync("", "small again")).TopicAlias, Is.EqualTo(small.TopicAlias));
        PublishModel shortTopic = await sub.ExpectPublishAsync("t", "short");
        Assert.That(shortTopic.TopicAlias, Is.Not.Zero);
        PublishModel fullShort = await sub.ExpectAsync<PublishModel>();
        Assert.That(Encoding.UTF8.GetString(fullShort.Payload), Is.EqualTo(Filled(fitsShort, 'b')));
        Assert.That(WireSize(fullShort), Is.LessThanOrEqualTo(ClientMaximum));
        Assert.That(Encoding.UTF8.GetString(fullShort.TopicName), Is.EqualTo("t"), "sent with its topic when the alias-only form does not fit");
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedTooLarge), Is.Zero);
    }

    private static Task<PipeClient> ConnectPersistentAsync(TestBroker broker, string clientId, bool cleanStart)
        => broker.ConnectAsync(clientId, cleanStart: cleanStart, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 300 });

    private static PublishModel Publish(string topic, string payload, QualityOfService qos, ushort packetId, uint? expiry = null) => new()
    {
        TopicName = Encoding.UTF8.GetBytes(topic),
        Payload = Encoding.UTF8.GetBytes(payload),
        QoS = qos,
        PacketIdentifier = packetId,
        HasMessageExpiry = expiry is not null,
        MessageExpiryInterval = expiry ?? 0,
    };

    /// <summary>The size of a PUBLISH on the wire: the broker and the test codec write the same bytes for a packet.</summary>
    private static int WireSize(PublishModel publish) => CodecDriver.Encode(publish, ProtocolVersion.V500).Length;

    /// <summary>The payload length that makes a v5 PUBLISH without properties exactly <paramref name="packetSize"/> bytes.</summary>
    private static int PayloadToFill(int packetSize, string topic, QualityOfService qos)
        => packetSize - WireSize(new PublishModel { TopicName = Encoding.UTF8.GetBytes(topic), QoS = qos, PacketIdentifier = qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)1 });

    private static string Filled(int length, char c) => new(c, length);
}
