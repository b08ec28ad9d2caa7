using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Snapshots;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>The read-only views the management API is built on: clients, sessions, subscriptions, routes.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SnapshotTests
{
    [Test]
    public async Task ClientsListConnectedClientsWithTheirSettingsAndTraffic()
    {
        await using var broker = new TestBroker(options => options.MaximumInflight = 16);
        PipeClient alice = await broker.ConnectAsync("alice", ProtocolVersion.V311, configure: c =>
        {
            c.UserName = "u1";
            c.KeepAlive = 60;
        });
        PipeClient bob = await broker.ConnectAsync("bob", ProtocolVersion.V500);
        await alice.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        await bob.PublishAsync("t/1", "hello", QualityOfService.AtLeastOnce, 1);
        await bob.ExpectAckAsync(PacketType.PubAck, 1);
        await alice.ExpectPublishAsync("t/1", "hello");

        IReadOnlyList<ClientSnapshot> clients = broker.Broker.GetClients();
        Assert.That(clients.Select(c => c.ClientId), Is.EquivalentTo(new[] { "alice", "bob" }));

        ClientSnapshot a = broker.Broker.GetClient("alice")!;
        Assert.Multiple(() =>
        {
            Assert.That(a.UserName, Is.EqualTo("u1"));
            Assert.That(a.ProtocolName, Is.EqualTo("MQTT"));
            Assert.That(a.ProtocolVersion, Is.EqualTo(4));
            Assert.That(a.KeepAlive, Is.EqualTo(60));
            Assert.That(a.CleanStart, Is.True);
            Assert.That(a.Connected, Is.True);
            Assert.That(a.Session.SubscriptionCount, Is.EqualTo(1));
            Assert.That(a.Session.MaxInflight, Is.EqualTo(16));
            Assert.That(a.Session.MaxQueue, Is.EqualTo(1000));
            Assert.That(a.Session.MaxAwaitingRel, Is.EqualTo(100));
            Assert.That(a.Session.Inflight, Is.EqualTo(1), "the QoS 1 delivery is not acknowledged yet");
            Assert.That(a.ReceivedPackets, Is.EqualTo(2), "CONNECT and SUBSCRIBE");
            Assert.That(a.SentMessages, Is.EqualTo(1));
            Assert.That(a.ReceivedBytes, Is.GreaterThan(0));
            Assert.That(a.SentBytes, Is.GreaterThan(0));
            Assert.That(a.Listener, Is.EqualTo("mqtt:internal"));
        });

        ClientSnapshot b = broker.Broker.GetClient("bob")!;
        Assert.That(b.ProtocolVersion, Is.EqualTo(5));
        Assert.That(b.ReceivedMessages, Is.EqualTo(1));
        Assert.That(broker.Broker.GetClient("nobody"), Is.Null);
    }

    [Test]
    public async Task SessionsOutliveTheirConnectionAndReportQueuedMessages()
    {
        await using var broker = new TestBroker();
        PipeClient offline = await broker.ConnectAsync("offline", ProtocolVersion.V311, cleanStart: false);
        await offline.SubscribeAsync("q", QualityOfService.AtLeastOnce);
        await offline.DisconnectAsync();
        await offline.ExpectClosedAsync();

        PipeClient publisher = await broker.ConnectAsync("publisher", ProtocolVersion.V311);
        await publisher.PublishAsync("q", "1", QualityOfService.AtLeastOnce, 1);
        await publisher.ExpectAckAsync(PacketType.PubAck, 1);

        Assert.That(broker.Broker.GetClient("offline"), Is.Null, "not connected");
        SessionSnapshot session = broker.Broker.GetSession("offline")!;
        Assert.Multiple(() =>
        {
            Assert.That(session.Connected, Is.False);
            Assert.That(session.SubscriptionCount, Is.EqualTo(1));
            Assert.That(session.QueueLength + session.Inflight, Is.EqualTo(1));
            Assert.That(session.ExpiryInterval, Is.EqualTo(7200), "v3 persistent sessions get the configured expiry");
        });
        Assert.That(broker.Broker.GetSessions().Select(s => s.ClientId), Is.EquivalentTo(new[] { "offline", "publisher" }));
    }

    [Test]
    public async Task SubscriptionsAndRoutesReflectTheTrie()
    {
        await using var broker = new TestBroker();
        PipeClient a = await broker.ConnectAsync("a");
        PipeClient b = await broker.ConnectAsync("b");
        await a.SubscribeAsync(new TopicSubscription("x/+", QualityOfService.AtLeastOnce, NoLocal: true));
        await b.SubscribeAsync("$share/g/x/+", QualityOfService.ExactlyOnce);
        await b.SubscribeAsync("y/#");

        Assert.That(broker.Broker.GetSubscriptions("a"), Is.EqualTo(new[]
        {
            new SubscriptionSnapshot("a", "x/+", QualityOfService.AtLeastOnce, true, false, RetainHandling.SendOnSubscribe, 0),
        }));
        Assert.That(broker.Broker.GetSubscriptions().Select(s => $"{s.ClientId} {s.Topic} {(int)s.QoS}"),
            Is.EquivalentTo(new[] { "a x/+ 1", "b $share/g/x/+ 2", "b y/# 0" }));
        Assert.That(broker.Broker.GetRoutes().Select(r => r.Topic), Is.EqualTo(new[] { "x/+", "y/#" }));
        Assert.That(broker.Broker.GetRoutes().Select(r => r.Node).Distinct(), Is.EqualTo(new[] { "broker@127.0.0.1" }));

        await b.UnsubscribeAsync("y/#");
        Assert.That(broker.Broker.GetRoutes().Select(r => r.Topic), Is.EqualTo(new[] { "x/+" }));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Subscriptions), Is.EqualTo(2));
    }

    [Test]
    public async Task SubscribeOnBehalfOfAClientDeliversRetainedAndRoutes()
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("publisher");
        await publisher.PublishAsync("news/1", "old", QualityOfService.AtLeastOnce, 1, retain: true);
        await publisher.ExpectAckAsync(PacketType.PubAck, 1);
        PipeClient reader = await broker.ConnectAsync("reader");

        Assert.That(broker.Broker.Subscribe("reader", "news/#", QualityOfService.AtLeastOnce), Is.EqualTo(ReasonCode.GrantedQoS1));
        PublishModel retained = await reader.ExpectPublishAsync("news/1", "old");
        Assert.That(retained.Retain, Is.True);
        await reader.SendAckAsync(PacketType.PubAck, retained.PacketIdentifier);

        await publisher.PublishAsync("news/2", "new");
        await reader.ExpectPublishAsync("news/2", "new");

        Assert.That(broker.Broker.Subscribe("nobody", "news/#", QualityOfService.AtMostOnce), Is.Null);
        Assert.That(broker.Broker.Subscribe("reader", "bad/#/filter", QualityOfService.AtMostOnce), Is.EqualTo(ReasonCode.TopicFilterInvalid));
        Assert.That(broker.Broker.Unsubscribe("reader", "news/#"), Is.True);
        Assert.That(broker.Broker.Unsubscribe("reader", "news/#"), Is.False);
        await publisher.PublishAsync("news/3", "unheard");
        await reader.ExpectNothingAsync();
    }
}
