using System.Net;
using System.Text;
using System.Text.Json;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// EMQX's <c>$SYS/brokers/{node}/...</c> topics: retained version and description, periodic uptime, datetime, stats and
/// metrics, client connected and disconnected events with EMQX's JSON field names; clients cannot publish there.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SysTopicTests
{
    private const string Node = "n1@host";

    /// <summary>The fake clock's start, 2026-01-01T00:00:00Z, in Unix milliseconds.</summary>
    private const long StartMilliseconds = 1_767_225_600_000;

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Version_IsRetainedUnderTheNodeTopic(ProtocolVersion version)
    {
        await using var broker = new TestBroker(Sys);
        broker.Advance(TimeSpan.FromSeconds(1));

        PipeClient client = await broker.ConnectAsync("c", version);
        await client.SubscribeAsync("$SYS/brokers/+/version");
        PublishModel published = await client.ExpectPublishAsync($"$SYS/brokers/{Node}/version", MqttBroker.Version);
        Assert.That(published.Retain, Is.True);

        await client.SubscribeAsync("$SYS/brokers");
        Assert.That((await client.ExpectPublishAsync("$SYS/brokers", Node)).Retain, Is.True);
    }

    [Test]
    public async Task UptimeAndDatetime_PublishedEveryInterval()
    {
        await using var broker = new TestBroker(Sys);
        PipeClient client = await broker.ConnectAsync("c");
        await client.SubscribeAsync(new TopicSubscription("$SYS/brokers/+/uptime", QualityOfService.AtMostOnce), new TopicSubscription("$SYS/brokers/+/datetime", QualityOfService.AtMostOnce));

        broker.Advance(TimeSpan.FromSeconds(1));
        await client.ExpectPublishAsync($"$SYS/brokers/{Node}/uptime", "1 seconds");
        await client.ExpectPublishAsync($"$SYS/brokers/{Node}/datetime", "2026-01-01 00:00:01");

        broker.Advance(TimeSpan.FromSeconds(9));
        await client.ExpectNothingAsync();

        broker.Advance(TimeSpan.FromSeconds(1));
        await client.ExpectPublishAsync($"$SYS/brokers/{Node}/uptime", "11 seconds");
        await client.ExpectPublishAsync($"$SYS/brokers/{Node}/datetime", "2026-01-01 00:00:11");
    }

    [Test]
    public async Task StatsAndMetrics_PublishedWithCurrentValues()
    {
        await using var broker = new TestBroker(Sys);
        PipeClient watch = await broker.ConnectAsync("watch");
        await watch.SubscribeAsync(
            new TopicSubscription("$SYS/brokers/+/stats/connections/count", QualityOfService.AtMostOnce),
            new TopicSubscription("$SYS/brokers/+/metrics/client/connected", QualityOfService.AtMostOnce));
        await broker.ConnectAsync("other");

        broker.Advance(TimeSpan.FromSeconds(1));

        var values = new Dictionary<string, string>();
        for (int i = 0; i < 2; i++)
        {
            PublishModel publish = await watch.ExpectAsync<PublishModel>();
            values[Encoding.UTF8.GetString(publish.TopicName)] = Encoding.UTF8.GetString(publish.Payload);
        }

        Assert.That(values, Is.EqualTo(new Dictionary<string, string>
        {
            [$"$SYS/brokers/{Node}/stats/connections/count"] = "2",
            [$"$SYS/brokers/{Node}/metrics/client/connected"] = "2",
        }));
    }

    [Test]
    public async Task SysMessages_AreNotCountedAsPublishedOrDropped()
    {
        await using var broker = new TestBroker(o => o.SysInterval = TimeSpan.FromSeconds(1));

        broker.Advance(TimeSpan.FromSeconds(3));
        PipeClient client = await broker.ConnectAsync("c");
        await client.DropAndWaitAsync();

        // EMQX leaves its own messages out of messages.publish and messages.dropped (emqx_broker:inc_dropped_cnt).
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesPublish), Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesDropped), Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesDroppedNoSubscribers), Is.Zero);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task SysTopics_AreNotMatchedByLeadingWildcards(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.SysInterval = TimeSpan.FromSeconds(1));
        PipeClient client = await broker.ConnectAsync("c", version);
        await client.SubscribeAsync(new TopicSubscription("#", QualityOfService.AtMostOnce), new TopicSubscription("+/brokers/#", QualityOfService.AtMostOnce));

        // [MQTT-4.7.2-1]: neither the live $SYS messages nor the retained ones reach "#" or "+/...".
        broker.Advance(TimeSpan.FromSeconds(2));
        await broker.ConnectAsync("other", version);
        await client.SubscribeAsync("#");
        await client.ExpectNothingAsync();
    }

    [Test]
    public async Task SysTopicsDisabled_NothingIsPublished()
    {
        await using var broker = new TestBroker(o =>
        {
            o.SysTopicsEnabled = false;
            o.SysInterval = TimeSpan.FromSeconds(1);
        });
        PipeClient client = await broker.ConnectAsync("c");
        await client.SubscribeAsync("$SYS/#");

        broker.Advance(TimeSpan.FromSeconds(2));
        await broker.ConnectAsync("other");
        await client.ExpectNothingAsync();
        Assert.That(broker.Broker.Retained.Count, Is.Zero);
    }

    [TestCase(ProtocolVersion.V311, 4)]
    [TestCase(ProtocolVersion.V500, 5)]
    public async Task ConnectedAndDisconnectedEvents_UseEmqxFieldNames(ProtocolVersion version, int protoVer)
    {
        await using var broker = new TestBroker(Sys);
        PipeClient watch = await broker.ConnectAsync("watch");
        await watch.SubscribeAsync("$SYS/brokers/+/clients/#");

        var info = new ConnectionInfo
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 50123),
            LocalEndPoint = new IPEndPoint(IPAddress.Any, 1883),
        };
        await using var client = new PipeClient(broker.Broker, version, info);
        ConnAckPacket ack = await client.SendConnectAsync(new ConnectPacket { ClientId = "dev1", ProtocolVersion = version, UserName = "alice", KeepAlive = 30 });
        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Success));

        PublishModel connected = await watch.ExpectPublishAsync($"$SYS/brokers/{Node}/clients/dev1/connected");
        Assert.That(connected.Retain, Is.False);
        using (JsonDocument json = JsonDocument.Parse(connected.Payload))
        {
            JsonElement e = json.RootElement;
            Assert.That(e.GetProperty("clientid").GetString(), Is.EqualTo("dev1"));
            Assert.That(e.GetProperty("username").GetString(), Is.EqualTo("alice"));
            Assert.That(e.GetProperty("ipaddress").GetString(), Is.EqualTo("10.1.2.3"));
            Assert.That(e.GetProperty("sockport").GetInt32(), Is.EqualTo(1883));
            Assert.That(e.GetProperty("proto_name").GetString(), Is.EqualTo("MQTT"));
            Assert.That(e.GetProperty("proto_ver").GetInt32(), Is.EqualTo(protoVer));
            Assert.That(e.GetProperty("keepalive").GetInt32(), Is.EqualTo(30));
            Assert.That(e.GetProperty("connack").GetInt32(), Is.Zero);
            Assert.That(e.GetProperty("clean_start").GetBoolean(), Is.True);
            Assert.That(e.GetProperty("expiry_interval").GetInt64(), Is.Zero);
            Assert.That(e.GetProperty("connected_at").GetInt64(), Is.EqualTo(StartMilliseconds));
            Assert.That(e.GetProperty("ts").GetInt64(), Is.EqualTo(StartMilliseconds));
        }

        broker.Advance(TimeSpan.FromSeconds(2));
        await client.DisconnectAsync();
        PublishModel disconnected = await watch.ExpectPublishAsync($"$SYS/brokers/{Node}/clients/dev1/disconnected");
        using (JsonDocument json = JsonDocument.Parse(disconnected.Payload))
        {
            JsonElement e = json.RootElement;
            Assert.That(e.GetProperty("clientid").GetString(), Is.EqualTo("dev1"));
            Assert.That(e.GetProperty("username").GetString(), Is.EqualTo("alice"));
            Assert.That(e.GetProperty("reason").GetString(), Is.EqualTo("normal"));
            Assert.That(e.GetProperty("disconnected_at").GetInt64(), Is.EqualTo(StartMilliseconds + 2000));
            Assert.That(e.GetProperty("ts").GetInt64(), Is.EqualTo(StartMilliseconds + 2000));
        }
    }

    [Test]
    public async Task DisconnectedEvent_ReasonNamesKickAndKeepAliveTimeout()
    {
        await using var broker = new TestBroker(Sys);
        PipeClient watch = await broker.ConnectAsync("watch");
        await watch.SubscribeAsync("$SYS/brokers/+/clients/+/disconnected");
        PipeClient kicked = await broker.ConnectAsync("kicked");
        PipeClient silent = await broker.ConnectAsync("silent", configure: c => c.KeepAlive = 1);

        broker.Broker.Kick("kicked");
        Assert.That(await ReasonAsync(watch, "kicked"), Is.EqualTo("kicked"));
        await kicked.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await ReasonAsync(watch, "silent"), Is.EqualTo("keepalive_timeout"));
        await silent.ExpectClosedAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task ClientPublishToSys_IsDroppedAndCounted(ProtocolVersion version)
    {
        await using var broker = new TestBroker(Sys);
        PipeClient watch = await broker.ConnectAsync("watch", version);
        await watch.SubscribeAsync("$SYS/brokers/+/version");
        PipeClient client = await broker.ConnectAsync("c", version);

        await client.PublishAsync($"$SYS/brokers/{Node}/version", "fake", QualityOfService.AtLeastOnce, 1, retain: true);
        await client.ExpectAckAsync(PacketType.PubAck, 1);

        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishError), Is.EqualTo(1));
        Assert.That(broker.Broker.Retained.Count, Is.Zero, "not stored as retained either");
        await watch.ExpectNothingAsync();

        // The broker's own version is still what subscribers get.
        broker.Advance(TimeSpan.FromSeconds(1));
        PipeClient late = await broker.ConnectAsync("late", version);
        await late.SubscribeAsync("$SYS/brokers/+/version");
        await late.ExpectPublishAsync($"$SYS/brokers/{Node}/version", MqttBroker.Version);
    }

    private static void Sys(BrokerOptions options)
    {
        options.NodeName = Node;
        options.SysInterval = TimeSpan.FromSeconds(10);
    }

    private static async Task<string?> ReasonAsync(PipeClient watch, string clientId)
    {
        PublishModel publish = await watch.ExpectPublishAsync($"$SYS/brokers/{Node}/clients/{clientId}/disconnected");
        using JsonDocument json = JsonDocument.Parse(publish.Payload);
        return json.RootElement.GetProperty("reason").GetString();
    }
}
