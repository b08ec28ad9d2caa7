using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// A subscriber that falls behind holds its publishers back (their sockets go unread) instead of the broker accepting
/// messages and dropping them from a full queue.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class BackPressureTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task BurstBeyondTheQueue_ToAnAckingSubscriber_IsDeliveredWhole(ProtocolVersion version)
    {
        // One in flight and a 100-message queue: 400 QoS 1 publishes in one write would overflow it four times over.
        const int count = 400;
        await using var broker = new TestBroker(o =>
        {
            o.MaximumInflight = 1;
            o.MaximumQueueLength = 100;
        });
        PipeClient sub = await broker.ConnectAsync("sub", version);
        await sub.SubscribeAsync("bp/#", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub", version);

        using var burst = new MemoryStream();
        for (int i = 1; i <= count; i++)
        {
            burst.Write(CodecDriver.Encode(
                new PublishModel { TopicName = "bp/t"u8.ToArray(), Payload = BitConverter.GetBytes(i), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = (ushort)i },
                version));
        }

        await pub.SendAsync(burst.ToArray());
        for (int i = 1; i <= count; i++)
        {
            PublishModel delivery = await sub.ExpectAsync<PublishModel>();
            Assert.That(BitConverter.ToInt32(delivery.Payload), Is.EqualTo(i), "in order, none dropped");
            await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
        }

        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.Zero);
        Assert.That(broker.Broker.PublisherPauses, Is.GreaterThan(0), "the publisher was held back");
        for (int i = 1; i <= count; i++)
        {
            await pub.ExpectAckAsync(PacketType.PubAck, (ushort)i);
        }
    }

    [Test]
    public async Task SubscriberThatNeverAcks_HoldsThePublisherBackOnlyBriefly()
    {
        // A consumer that stopped acknowledging: after one bounded pause the publisher goes on, and the queue drops
        // its oldest as it would without back-pressure. Other subscribers keep getting everything.
        const int count = 300;
        await using var broker = new TestBroker(o =>
        {
            o.MaximumInflight = 1;
            o.MaximumQueueLength = 100;
        });
        PipeClient stuck = await broker.ConnectAsync("stuck");
        await stuck.SubscribeAsync("bp/#", QualityOfService.AtLeastOnce);
        PipeClient healthy = await broker.ConnectAsync("healthy");
        await healthy.SubscribeAsync("bp/#");
        PipeClient pub = await broker.ConnectAsync("pub");

        using var burst = new MemoryStream();
        for (int i = 1; i <= count; i++)
        {
            burst.Write(CodecDriver.Encode(
                new PublishModel { TopicName = "bp/t"u8.ToArray(), Payload = BitConverter.GetBytes(i), QoS = QualityOfService.AtLeastOnce, PacketIdentifier = (ushort)i },
                ProtocolVersion.V500));
        }

        await pub.SendAsync(burst.ToArray());
        for (int i = 1; i <= count; i++)
        {
            PublishModel delivery = await healthy.ExpectAsync<PublishModel>();
            Assert.That(BitConverter.ToInt32(delivery.Payload), Is.EqualTo(i));
        }

        Assert.That(broker.Broker.PublisherPauses, Is.EqualTo(1), "one pause per congestion episode, not one per message");
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.EqualTo(count - 1 - 100));
    }
}
