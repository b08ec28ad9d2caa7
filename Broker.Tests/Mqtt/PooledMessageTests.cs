using System.Text;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Client PUBLISH packets become pooled, reference-counted messages (see <c>Message</c>): everything that keeps a
/// message must hold its own reference or a copy, or the pool hands its buffer to the next PUBLISH. Each test parks a
/// message somewhere (offline queue, inflight window, retained store), recycles the pool many times over with other
/// messages of the same size class, and checks the parked message still carries its own bytes. The suite runs with
/// released buffers poisoned, so a use after release shows as 0xDD bytes.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class PooledMessageTests
{
    private const int Churn = 600;

    [TestCase(ProtocolVersion.V311, QualityOfService.AtLeastOnce)]
    [TestCase(ProtocolVersion.V500, QualityOfService.AtLeastOnce)]
    [TestCase(ProtocolVersion.V500, QualityOfService.ExactlyOnce)]
    [TestCase(ProtocolVersion.V500, QualityOfService.AtMostOnce)]
    public async Task QueuedOffline_KeepsItsPayload_WhileThePoolIsRecycled(ProtocolVersion version, QualityOfService qos)
    {
        await using var broker = new TestBroker(o => o.QueueQoS0Messages = true);
        PipeClient sub = await broker.ConnectPersistentAsync("sub", version);
        await sub.SubscribeAsync("keep", qos);
        await sub.DisconnectAndWaitAsync();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAndCompleteAsync("keep", Payload("original", 0), qos, 1);

        await ChurnAsync(broker, pub, version);

        PipeClient again = await broker.ConnectPersistentAsync("sub", version);
        await again.ExpectPublishAndCompleteAsync("keep", Payload("original", 0));
    }

    [TestCase(ProtocolVersion.V311, QualityOfService.AtLeastOnce)]
    [TestCase(ProtocolVersion.V500, QualityOfService.AtLeastOnce)]
    [TestCase(ProtocolVersion.V500, QualityOfService.ExactlyOnce)]
    public async Task UnacknowledgedDelivery_IsResentWithItsOriginalBytes_AfterThePoolIsRecycled(ProtocolVersion version, QualityOfService qos)
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectPersistentAsync("sub", version);
        await sub.SubscribeAsync("keep", qos);
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAndCompleteAsync("keep", Payload("inflight", 0), qos, 1);
        PublishModel first = await sub.ExpectPublishAsync("keep", Payload("inflight", 0));
        await sub.DropAndWaitAsync();

        await ChurnAsync(broker, pub, version);

        PipeClient again = await broker.ConnectPersistentAsync("sub", version);
        PublishModel resent = await again.ExpectPublishAsync("keep", Payload("inflight", 0));
        Assert.That(resent.Dup, Is.True);
        Assert.That(resent.PacketIdentifier, Is.EqualTo(first.PacketIdentifier));
        await again.CompleteDeliveryAsync(resent);
    }

    [Test]
    public async Task Retained_SurvivesHeavyTraffic()
    {
        await using var broker = new TestBroker();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("state", Encoding.UTF8.GetBytes(Payload("retained", 0)), QualityOfService.AtLeastOnce, 1, retain: true);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);

        await ChurnAsync(broker, pub, ProtocolVersion.V500);

        PipeClient late = await broker.ConnectAsync("late");
        await late.SubscribeAsync("state", QualityOfService.AtLeastOnce);
        await late.ExpectPublishAndCompleteAsync("state", Payload("retained", 0));
        Assert.That(broker.Broker.Retained.Find("state")!.Payload.ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes(Payload("retained", 0))));
    }

    [Test]
    public async Task Delayed_KeepsItsPayload_WhileThePoolIsRecycled()
    {
        await using var broker = new TestBroker();
        PipeClient sub = await broker.ConnectAsync("sub");
        await sub.SubscribeAsync("later", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("$delayed/5/later", Payload("delayed", 0), QualityOfService.AtLeastOnce, 1);

        await ChurnAsync(broker, pub, ProtocolVersion.V500);
        broker.Advance(TimeSpan.FromSeconds(6));

        await sub.ExpectPublishAndCompleteAsync("later", Payload("delayed", 0));
    }

    [Test]
    public async Task SharedOrphan_IsRedispatchedWithItsOriginalBytes()
    {
        await using var broker = new TestBroker();
        PipeClient a = await broker.ConnectAsync("a");
        await a.SubscribeAsync("$share/g/work", QualityOfService.AtLeastOnce);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("work", Payload("orphan", 0), QualityOfService.AtLeastOnce, 1);
        await a.ExpectPublishAsync("work", Payload("orphan", 0));
        PipeClient b = await broker.ConnectAsync("b");
        await b.SubscribeAsync("$share/g/work", QualityOfService.AtLeastOnce);
        await ChurnAsync(broker, pub, ProtocolVersion.V500);

        // a leaves without acknowledging: its clean session ends and the group hands the message to b.
        await a.DropAndWaitAsync();

        await b.ExpectPublishAndCompleteAsync("work", Payload("orphan", 0));
    }

    /// <summary>
    /// Once every client has gone (clean sessions, so nothing is kept), every pooled message has been released: back in
    /// the pool. A missing release would leave one out; a release too many would have thrown in a read loop.
    /// </summary>
    [Test]
    public async Task EveryReference_IsReleased_OnceTheClientsHaveGone()
    {
        var broker = new TestBroker(o => o.QueueQoS0Messages = true);
        await using (broker)
        {
            PipeClient quiet = await broker.ConnectAsync("quiet");
            await quiet.SubscribeAsync(new TopicSubscription("t/#", QualityOfService.ExactlyOnce));
            PipeClient acker = await broker.ConnectAsync("acker", ProtocolVersion.V311);
            await acker.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
            PipeClient shared = await broker.ConnectAsync("shared");
            await shared.SubscribeAsync("$share/g/t/#", QualityOfService.AtLeastOnce);
            PipeClient pub = await broker.ConnectAsync("pub");
            for (ushort i = 1; i <= 50; i++)
            {
                var qos = (QualityOfService)(i % 3);
                await pub.PublishAndCompleteAsync($"t/{i}", Payload("m", i), qos, i);
            }

            await pub.PublishAndCompleteAsync("t/retained", "r", QualityOfService.AtLeastOnce, 51);
            await pub.PublishAndCompleteAsync("$delayed/100/t/later", "d", QualityOfService.AtLeastOnce, 52);
            for (int i = 1; i <= 51; i++)
            {
                // acker completes everything (the 50 and the retained one); quiet and shared never acknowledge, so their windows and queues stay full.
                PublishModel delivery = await acker.ExpectAsync<PublishModel>();
                await acker.CompleteDeliveryAsync(delivery);
            }

            await acker.PingAsync();
            Assert.That(broker.Broker.MessagePool.Created, Is.GreaterThan(0));
            Assert.That(broker.Broker.MessagePool.Available, Is.LessThan(broker.Broker.MessagePool.Created), "quiet and shared still hold messages");

            await quiet.DropAndWaitAsync();
            await shared.DropAndWaitAsync();
            await acker.DisconnectAndWaitAsync();
            await pub.DisconnectAndWaitAsync();

            Assert.That(broker.Broker.Sessions.Count, Is.Zero);
            Assert.That(broker.Broker.MessagePool.Available, Is.EqualTo(broker.Broker.MessagePool.Created));
        }
    }

    /// <summary>A payload of a fixed length per <paramref name="label"/>, so parked and churned messages share a size class.</summary>
    private static string Payload(string label, int n) => $"{label}-{n:D6}".PadRight(48, '.');

    /// <summary>
    /// Routes <see cref="Churn"/> messages through the pool to a live subscriber in rounds, checking each one's bytes.
    /// A round ends when the subscriber has them all, so they are released and the next round reuses them.
    /// </summary>
    private static async Task ChurnAsync(TestBroker broker, PipeClient pub, ProtocolVersion version)
    {
        PipeClient busy = await broker.ConnectAsync("busy-" + Guid.NewGuid().ToString("N"), version);
        await busy.SubscribeAsync("churn/#", QualityOfService.AtLeastOnce);
        long createdBefore = broker.Broker.MessagePool.Created;
        const int Rounds = 10;
        for (int round = 0; round < Rounds; round++)
        {
            int first = round * (Churn / Rounds);
            for (int i = first; i < first + (Churn / Rounds); i++)
            {
                await pub.PublishAsync($"churn/{i % 7}", Payload("churn", i));
            }

            await pub.PublishAsync("churn/end", "end");
            List<PublishModel> received = await busy.ReceivePublishesUntilAsync("churn/end");
            Assert.That(received, Has.Count.EqualTo(Churn / Rounds));
            for (int i = 0; i < received.Count; i++)
            {
                Assert.That(Encoding.UTF8.GetString(received[i].Payload), Is.EqualTo(Payload("churn", first + i)), $"churned message {first + i}");
            }
        }

        Assert.That(broker.Broker.MessagePool.Created - createdBefore, Is.LessThan(Churn / 2), "the pool was reused, not only grown");
        await busy.DisposeAsync();
    }
}
