using Broker.Core.Codec;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// EMQX's delayed publish: <c>$delayed/{seconds}/{topic}</c> reaches subscribers of <c>{topic}</c> after the delay.
/// Malformed delayed topics are dropped and counted in <c>packets.publish.error</c>; with the feature off the topic is
/// an ordinary topic (as in EMQX with the delayed module unloaded).
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class DelayedPublishTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task DelayedPublish_DeliveredToTargetTopicOnlyAfterDelay(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("d/t", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("$delayed/5/d/t", "later", QualityOfService.AtLeastOnce, 1);
        PublishAckPacket ack = await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Success), "accepted for later, not 'no matching subscribers'");
        Assert.That(broker.Broker.DelayedCount, Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesDelayed), Is.EqualTo(1));

        broker.Advance(TimeSpan.FromSeconds(4));
        await sub.ExpectNothingAsync();
        Assert.That(broker.Broker.DelayedCount, Is.EqualTo(1));

        broker.Advance(TimeSpan.FromSeconds(1));
        PublishModel delivered = await sub.ExpectPublishAsync("d/t", "later");
        Assert.That(delivered.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await sub.SendAckAsync(PacketType.PubAck, delivered.PacketIdentifier);
        Assert.That(broker.Broker.DelayedCount, Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesDelayed), Is.Zero);
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task DelayedPublishes_ReleasedInDueOrder()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("d/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("$delayed/3/d/b", "third");
        await pub.PublishAsync("$delayed/1/d/a", "first");
        await pub.PublishAsync("$delayed/2/d/a", "second");
        await pub.PublishAsync("$delayed/2/x/y", "elsewhere", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(broker.Broker.DelayedCount, Is.EqualTo(4));

        broker.Advance(TimeSpan.FromSeconds(1));
        await sub.ExpectPublishAsync("d/a", "first");
        broker.Advance(TimeSpan.FromSeconds(2));
        await sub.ExpectPublishAsync("d/a", "second");
        await sub.ExpectPublishAsync("d/b", "third");
        Assert.That(broker.Broker.DelayedCount, Is.Zero);
    }

    [TestCase("$delayed/abc/d/t")] // delay is not a number
    [TestCase("$delayed/5")] // no target topic
    [TestCase("$delayed/5/")] // empty target topic
    [TestCase("$delayed//d/t")] // empty delay
    [TestCase("$delayed/-1/d/t")] // negative delay
    [TestCase("$delayed/1.5/d/t")] // not an integer
    [TestCase("$delayed/4294968/d/t")] // above EMQX's maximum of 4294967 s
    [TestCase("$delayed/1/$SYS/brokers/x/version")] // $SYS is the broker's, delayed or not
    public async Task InvalidDelayedTopic_IsDroppedAndCounted_ConnectionStaysUp(string topic)
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync(new TopicSubscription("d/t", QualityOfService.AtMostOnce), new TopicSubscription("$delayed/#", QualityOfService.AtMostOnce), new TopicSubscription("$SYS/#", QualityOfService.AtMostOnce));
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync(topic, "bad", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishError), Is.EqualTo(1));
        Assert.That(broker.Broker.DelayedCount, Is.Zero);

        broker.Advance(TimeSpan.FromSeconds(6));
        await pub.PublishAsync("d/t", "still connected");
        await sub.ExpectPublishAsync("d/t", "still connected");
        await sub.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task DelayedPublishDisabled_TopicIsTakenLiterally(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o =>
        {
            o.DelayedPublishEnabled = false;
            o.SysTopicsEnabled = false;
        });
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync(new TopicSubscription("$delayed/5/d/t", QualityOfService.AtMostOnce), new TopicSubscription("d/t", QualityOfService.AtMostOnce));
        PipeClient pub = await broker.ConnectAsync("pub", version);

        await pub.PublishAsync("$delayed/5/d/t", "now");
        await sub.ExpectPublishAsync("$delayed/5/d/t", "now");
        Assert.That(broker.Broker.DelayedCount, Is.Zero);

        broker.Advance(TimeSpan.FromSeconds(6));
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task DelayedRetainedPublish_IsRetainedWhenReleased()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient pub = await broker.ConnectAsync("pub");

        await pub.PublishAsync("$delayed/2/d/r", "state", QualityOfService.AtLeastOnce, 1, retain: true);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(broker.Broker.Retained.Count, Is.Zero, "neither the $delayed topic nor the target is retained yet");

        broker.Advance(TimeSpan.FromSeconds(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(1));
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("d/#");
        Assert.That((await sub.ExpectPublishAsync("d/r", "state")).Retain, Is.True);
    }

    [Test]
    public async Task DelayedPublish_KeepsPropertiesAndCountsOnePublish()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("d/t");
        PipeClient pub = await broker.ConnectAsync("pub");
        byte[] properties = PacketEncoder.EncodeMessageProperties(new MqttProperties { ContentType = "application/json" });

        await pub.PublishAsync("$delayed/1/d/t", "{}", QualityOfService.AtLeastOnce, 1, properties: properties);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        broker.Advance(TimeSpan.FromSeconds(1));

        PublishModel delivered = await sub.ExpectPublishAsync("d/t", "{}");
        Assert.That(ReceivedProperties.Of(delivered)?.ContentType, Is.EqualTo("application/json"));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesPublish), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesReceived), Is.EqualTo(1));
    }
}
