using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

[TestFixture]
[CancelAfter(30_000)]
public sealed class SmokeTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task PublishReachesSubscriberAtEachQoS(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", version);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        Assert.That(await sub.SubscribeAsync("a/+", QualityOfService.ExactlyOnce), Is.EqualTo(new[] { ReasonCode.GrantedQoS2 }));

        await pub.PublishAsync("a/0", "zero");
        await sub.ExpectPublishAsync("a/0", "zero");

        await pub.PublishAsync("a/1", "one", QualityOfService.AtLeastOnce, 7);
        await pub.ExpectAckAsync(PacketType.PubAck, 7);
        PublishModel one = await sub.ExpectPublishAsync("a/1", "one");
        Assert.That(one.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        await sub.SendAckAsync(PacketType.PubAck, one.PacketIdentifier);

        await pub.PublishAsync("a/2", "two", QualityOfService.ExactlyOnce, 8);
        await pub.ExpectAckAsync(PacketType.PubRec, 8);
        await pub.SendAckAsync(PacketType.PubRel, 8);
        await pub.ExpectAckAsync(PacketType.PubComp, 8);
        PublishModel two = await sub.ExpectPublishAsync("a/2", "two");
        Assert.That(two.QoS, Is.EqualTo(QualityOfService.ExactlyOnce));
        await sub.SendAckAsync(PacketType.PubRec, two.PacketIdentifier);
        await sub.ExpectAckAsync(PacketType.PubRel, two.PacketIdentifier);
        await sub.SendAckAsync(PacketType.PubComp, two.PacketIdentifier);
        await sub.ExpectNothingAsync();
    }

    [Test]
    public async Task BurstOfQoS0PublishesInOneReadIsDeliveredWhole()
    {
        // One socket read can carry thousands of small publishes, all routed before the subscriber's writer runs.
        const int count = 20_000;
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub", ProtocolVersion.V311);
        PipeClient pub = await broker.ConnectAsync("pub", ProtocolVersion.V311);
        await sub.SubscribeAsync("burst/#");

        using var burst = new MemoryStream();
        for (int i = 0; i < count; i++)
        {
            burst.Write(CodecDriver.Encode(new PublishModel { TopicName = "burst/x"u8.ToArray(), Payload = BitConverter.GetBytes(i) }, ProtocolVersion.V311));
        }

        await pub.SendAsync(burst.ToArray());
        for (int i = 0; i < count; i++)
        {
            PublishModel publish = await sub.ExpectAsync<PublishModel>();
            Assert.That(BitConverter.ToInt32(publish.Payload), Is.EqualTo(i), "in order, none dropped");
        }

        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.Zero);
    }
}
