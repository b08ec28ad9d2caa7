using System.Text.Json;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Http;

/// <summary>The v3 routes in the v3 document's shapes.</summary>
[TestFixture]
public sealed class V3RoutesTests
{
    [Test, CancelAfter(10_000)]
    public async Task Connections_PageAndLookup_AsTheV3Example()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("emqx-api-test:v1", ProtocolVersion.V311, userName: "emqx-api-test:v1");

        JsonElement page = await api.GetAsync("/api/v3/connections/?_page=1&_limit=10000");
        JsonElement one = await api.GetAsync("/api/v3/connections/emqx-api-test:v1");
        JsonElement onNode = await api.GetAsync("/api/v3/nodes/broker@127.0.0.1/connections/emqx-api-test:v1");

        Assert.That(page.GetProperty("meta").GetRawText(), Is.EqualTo("""{"page":1,"limit":10000,"count":1}"""));
        JsonElement item = page.GetProperty("items")[0];
        string[] fields = ["clean_start", "client_id", "connected_at", "ipaddress", "is_bridge", "is_super", "keepalive", "mountpoint", "node", "peercert", "port", "proto_name", "proto_ver", "username", "will_topic", "zone"];
        Assert.That(item.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(fields));
        Assert.That(item.GetProperty("proto_ver").GetInt32(), Is.EqualTo(4));
        Assert.That(one.ValueKind, Is.EqualTo(JsonValueKind.Array));
        Assert.That(one[0].GetProperty("client_id").GetString(), Is.EqualTo("emqx-api-test:v1"));
        Assert.That(onNode.GetArrayLength(), Is.EqualTo(1));
    }

    [Test, CancelAfter(10_000)]
    public async Task Kick_IsOk_ThenUnknownIs112()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("k");

        JsonElement kicked = await api.JsonAsync("DELETE", "/api/v3/connections/k");
        await client.ExpectClosedWithAsync(ReasonCode.AdministrativeAction);
        JsonElement again = await api.JsonAsync("DELETE", "/api/v3/connections/k");

        Assert.That(kicked.GetRawText(), Is.EqualTo("\"ok\""));
        Assert.That(again.GetRawText(), Is.EqualTo("""{"code":112}"""));
    }

    [Test, CancelAfter(10_000)]
    public async Task Sessions_ListAndLookup()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("s1", userName: "u");

        JsonElement page = await api.GetAsync("/api/v3/sessions/?_page=1&_limit=10000");
        JsonElement one = await api.GetAsync("/api/v3/nodes/broker@127.0.0.1/sessions/s1");

        JsonElement item = page.GetProperty("items")[0];
        string[] fields = ["awaiting_rel_len", "binding", "clean_start", "client_id", "created_at", "deliver_msg", "enqueue_msg", "expiry_interval", "heap_size", "inflight_len", "mailbox_len", "max_awaiting_rel", "max_inflight", "max_mqueue", "max_subscriptions", "mqueue_dropped", "mqueue_len", "node", "reductions", "subscriptions_count", "username"];
        Assert.That(item.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(fields));
        Assert.That(item.GetProperty("username").GetString(), Is.EqualTo("u"));
        Assert.That(one[0].GetProperty("client_id").GetString(), Is.EqualTo("s1"));
    }

    [Test, CancelAfter(10_000)]
    public async Task Subscriptions_AndRoutes()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("c");
        await client.SubscribeAsync("/test");

        JsonElement subscriptions = await api.GetAsync("/api/v3/subscriptions/");
        JsonElement ofClient = await api.GetAsync("/api/v3/subscriptions/c");
        JsonElement route = await api.GetAsync("/api/v3/routes//test");
        JsonElement routes = await api.GetAsync("/api/v3/routes/");

        Assert.That(subscriptions.GetProperty("items")[0].GetRawText(), Is.EqualTo("""{"client_id":"c","node":"broker@127.0.0.1","qos":0,"topic":"/test"}"""));
        Assert.That(ofClient.GetArrayLength(), Is.EqualTo(1));
        Assert.That(route.GetRawText(), Is.EqualTo("""[{"topic":"/test","node":"broker@127.0.0.1"}]"""));
        Assert.That(routes.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
    }

    [Test, CancelAfter(10_000)]
    public async Task MqttSubscribe_OfflineClient_IsCode112_OnlineIs0()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("mqttjs_ab9069449e");

        JsonElement offline = await api.JsonAsync("POST", "/api/v3/mqtt/subscribe", """{"topic":"test_topic","qos":1,"client_id":"nobody"}""");
        JsonElement online = await api.JsonAsync("POST", "/api/v3/mqtt/subscribe", """{"topic":"test_topic","qos":1,"client_id":"mqttjs_ab9069449e"}""");
        await api.JsonAsync("POST", "/api/v3/mqtt/publish", """{"topic":"test_topic","payload":"hello"}""");
        JsonElement unsubscribed = await api.JsonAsync("POST", "/api/v3/mqtt/unsubscribe", """{"topic":"test_topic","client_id":"mqttjs_ab9069449e"}""");

        Assert.That(offline.GetRawText(), Is.EqualTo("""{"code":112}"""));
        Assert.That(online.GetRawText(), Is.EqualTo("""{"code":0}"""));
        await client.ExpectPublishAsync("test_topic", "hello");
        Assert.That(unsubscribed.GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That(api.Broker.GetSubscriptions("mqttjs_ab9069449e"), Is.Empty);
    }

    [Test]
    public async Task MetricsAndStats_UseSlashNames()
    {
        await using var api = new ApiHarness();

        JsonElement metrics = await api.GetAsync("/api/v3/metrics/");
        JsonElement nodeMetrics = await api.GetAsync("/api/v3/nodes/broker@127.0.0.1/metrics/");
        JsonElement stats = await api.GetAsync("/api/v3/stats/");
        JsonElement nodeStats = await api.GetAsync("/api/v3/nodes/broker@127.0.0.1/stats/");

        Assert.That(metrics[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(metrics[0].GetProperty("metrics").TryGetProperty("packets/publish/received", out _), Is.True);
        Assert.That(nodeMetrics.TryGetProperty("bytes/received", out _), Is.True);
        Assert.That(stats[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(stats[0].TryGetProperty("connections/count", out _), Is.True);
        Assert.That(nodeStats.TryGetProperty("subscriptions/shared/max", out _), Is.True);
    }

    [Test]
    public async Task BrokersNodesListeners_AreBare()
    {
        await using var api = new ApiHarness();

        JsonElement brokers = await api.GetAsync("/api/v3/brokers/");
        JsonElement broker = await api.GetAsync("/api/v3/brokers/broker@127.0.0.1");
        JsonElement nodes = await api.GetAsync("/api/v3/nodes/");
        JsonElement node = await api.GetAsync("/api/v3/nodes/broker@127.0.0.1");
        JsonElement listeners = await api.GetAsync("/api/v3/listeners/");
        JsonElement nodeListeners = await api.GetAsync("/api/v3/nodes/broker@127.0.0.1/listeners");

        Assert.That(brokers[0].GetProperty("node_status").GetString(), Is.EqualTo("Running"));
        Assert.That(broker.GetProperty("sysdescr").ValueKind, Is.EqualTo(JsonValueKind.String));
        Assert.That(nodes[0].GetProperty("name").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(nodes[0].GetProperty("memory_total").ValueKind, Is.EqualTo(JsonValueKind.String));
        Assert.That(node.GetProperty("memory_total").ValueKind, Is.EqualTo(JsonValueKind.Number));
        Assert.That(listeners[0].GetProperty("listeners")[0].GetProperty("protocol").GetString(), Is.EqualTo("mqtt:tcp"));
        Assert.That(nodeListeners[0].GetProperty("shutdown_count").GetRawText(), Is.EqualTo("[]"));
    }
}
