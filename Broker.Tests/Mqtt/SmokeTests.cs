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
}
