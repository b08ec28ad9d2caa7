using System.Text.Json;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Http;

/// <summary>Subscriptions, routes, listeners, metrics, stats, brokers and nodes.</summary>
[TestFixture]
public sealed class ReadRoutesTests
{
    [Test, CancelAfter(10_000)]
    public async Task Subscriptions_ListPagesAndFilters()
    {
        await using var api = new ApiHarness();
        PipeClient a = await api.ConnectAsync("a");
        PipeClient b = await api.ConnectAsync("b");
        await a.SubscribeAsync("a/+/c");
        await a.SubscribeAsync("t/1", QualityOfService.AtLeastOnce);
        await b.SubscribeAsync("a/b/c", QualityOfService.AtLeastOnce);
        await b.SubscribeAsync("$share/grp/t/2", QualityOfService.ExactlyOnce);

        JsonElement all = await api.GetAsync("/api/v4/subscriptions?_page=1&_limit=10");
        Assert.That(all.GetProperty("meta").GetRawText(), Is.EqualTo("""{"page":1,"limit":10,"count":4,"hasnext":false}"""));
        // Rows come in session-table order (as EMQX walks its table), not sorted.
        Assert.That(
            all.GetProperty("data").EnumerateArray().Select(static r => r.GetRawText()),
            Does.Contain("""{"node":"broker@127.0.0.1","clientid":"a","topic":"a/+/c","qos":0}"""));

        Assert.That(Topics(await api.GetAsync("/api/v4/subscriptions?clientid=b")), Is.EquivalentTo(new[] { "$share/grp/t/2", "a/b/c" }));
        Assert.That(Topics(await api.GetAsync("/api/v4/subscriptions?topic=a/b/c")), Is.EqualTo(new[] { "a/b/c" }));
        Assert.That(Topics(await api.GetAsync("/api/v4/subscriptions?qos=1")), Is.EquivalentTo(new[] { "t/1", "a/b/c" }));
        Assert.That(Topics(await api.GetAsync("/api/v4/subscriptions?share=grp")), Is.EqualTo(new[] { "$share/grp/t/2" }));
        Assert.That(Topics(await api.GetAsync("/api/v4/subscriptions?_match_topic=t/%23")), Is.EquivalentTo(new[] { "t/1", "$share/grp/t/2" }));
        JsonElement filtered = await api.GetAsync("/api/v4/subscriptions?qos=0&_limit=1");
        Assert.That(filtered.GetProperty("meta").GetRawText(), Is.EqualTo("""{"page":1,"limit":1,"count":-1,"hasnext":false}"""));

        JsonElement page = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/subscriptions?_page=2&_limit=3");
        Assert.That(page.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
        Assert.That(Topics(await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/subscriptions/a")), Is.EqualTo(new[] { "a/+/c", "t/1" }));
    }

    [Test, CancelAfter(10_000)]
    public async Task Routes_ListAndLookupByEncodedTopic()
    {
        await using var api = new ApiHarness();
        PipeClient a = await api.ConnectAsync("a");
        await a.SubscribeAsync("a/+/c");
        await a.SubscribeAsync("a/b/c");

        JsonElement list = await api.GetAsync("/api/v4/routes");
        JsonElement one = await api.GetAsync("/api/v4/routes/a%2fb%2fc");
        JsonElement slashes = await api.GetAsync("/api/v4/routes/a/b/c");
        JsonElement none = await api.GetAsync("/api/v4/routes/x");

        Assert.That(list.GetRawText(), Is.EqualTo(
            """{"code":0,"data":[{"topic":"a/+/c","node":"broker@127.0.0.1"},{"topic":"a/b/c","node":"broker@127.0.0.1"}],"meta":{"page":1,"limit":10000,"count":2}}"""));
        Assert.That(one.GetRawText(), Is.EqualTo("""{"code":0,"data":[{"topic":"a/b/c","node":"broker@127.0.0.1"}]}"""));
        Assert.That(slashes.GetRawText(), Is.EqualTo(one.GetRawText()));
        Assert.That(none.GetRawText(), Is.EqualTo("""{"code":0,"data":[]}"""));
    }

    [Test]
    public async Task Listeners_ClusterAndNode()
    {
        await using var api = new ApiHarness();
        api.Listener.CurrentConnections = 13;

        JsonElement cluster = await api.GetAsync("/api/v4/listeners");
        JsonElement node = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/listeners");

        const string Listener = """{"acceptors":2,"listen_on":"127.0.0.1:1883","protocol":"mqtt:tcp","current_conns":13,"max_conns":1000,"shutdown_count":[]}""";
        Assert.That(cluster.GetRawText(), Is.EqualTo($$"""{"code":0,"data":[{"node":"broker@127.0.0.1","listeners":[{{Listener}}]}]}"""));
        Assert.That(node.GetRawText(), Is.EqualTo($$"""{"code":0,"data":[{{Listener}}]}"""));

        api.Listener.RecordShutdown("kicked");
        JsonElement after = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/listeners");
        Assert.That(after.GetProperty("data")[0].GetProperty("shutdown_count").GetRawText(), Is.EqualTo("""{"kicked":1}"""));
    }

    [Test, CancelAfter(10_000)]
    public async Task Metrics_AreTheBrokersCounters()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("c");
        await client.PublishAsync("x", "y");
        await Poll.UntilAsync(() => api.Broker.Counters.Get(CounterId.PacketsPublishReceived) == 1, CancellationToken.None);

        JsonElement cluster = await api.GetAsync("/api/v4/metrics");
        JsonElement node = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/metrics");

        JsonElement entry = cluster.GetProperty("data")[0];
        Assert.That(entry.GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        JsonElement metrics = entry.GetProperty("metrics");
        Assert.That(metrics.EnumerateObject().Count(), Is.EqualTo(CounterNames.Count));
        Assert.That(metrics.GetProperty("packets.publish.received").GetInt64(), Is.EqualTo(1));
        Assert.That(metrics.GetProperty("packets.connect.received").GetInt64(), Is.EqualTo(1));
        Assert.That(node.GetProperty("data").GetProperty("packets.publish.received").GetInt64(), Is.EqualTo(1));
    }

    [Test, CancelAfter(10_000)]
    public async Task Stats_AreTheBrokersGauges()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("c");
        await client.SubscribeAsync("s/1");

        JsonElement cluster = await api.GetAsync("/api/v4/stats");
        JsonElement node = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/stats");

        JsonElement stats = cluster.GetProperty("data")[0].GetProperty("stats");
        Assert.That(cluster.GetProperty("data")[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(stats.GetProperty("connections.count").GetInt64(), Is.EqualTo(1));
        Assert.That(stats.GetProperty("subscriptions.count").GetInt64(), Is.EqualTo(1));
        Assert.That(stats.GetProperty("subscriptions.max").GetInt64(), Is.EqualTo(1));
        Assert.That(node.GetProperty("data").GetProperty("connections.count").GetInt64(), Is.EqualTo(1));
    }

    [Test, CancelAfter(10_000)]
    public async Task BrokersAndNodes_ReportRealFigures()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("c");
        api.Test.Advance(TimeSpan.FromSeconds(3725));

        JsonElement brokers = await api.GetAsync("/api/v4/brokers");
        JsonElement nodes = await api.GetAsync("/api/v4/nodes");
        JsonElement node = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1");

        JsonElement broker = brokers.GetProperty("data")[0];
        Assert.That(broker.GetProperty("uptime").GetString(), Is.EqualTo("1 hours, 2 minutes, 5 seconds"));
        Assert.That(broker.GetProperty("datetime").GetString(), Does.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"));
        Assert.That(broker.GetProperty("version").GetString(), Is.Not.Empty);
        JsonElement listed = nodes.GetProperty("data")[0];
        Assert.That(listed.GetProperty("memory_total").GetString(), Does.Match(@"^\d+\.\d\d[KMG]$"), "the list shows memory as text");
        Assert.That(listed.GetProperty("connections").GetInt32(), Is.EqualTo(1));
        JsonElement one = node.GetProperty("data");
        Assert.That(one.GetProperty("memory_used").GetInt64(), Is.Positive, "one node shows bytes");
        Assert.That(one.GetProperty("max_fds").GetInt64(), Is.Positive);
        Assert.That(one.GetProperty("load1").GetString(), Does.Match(@"^\d+\.\d\d$"));
        Assert.That(one.GetProperty("process_used").GetInt32(), Is.Positive);
        Assert.That(one.GetProperty("node_status").GetString(), Is.EqualTo("Running"));
    }

    private static string[] Topics(JsonElement body) => [.. body.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("topic").GetString()!)];
}

[TestFixture]
public sealed class PrometheusRoutesTests
{
    [Test, CancelAfter(10_000)]
    public async Task Prometheus_NeedsNoCredentials_AndServesEveryCounterAndGauge()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("c");

        Broker.Http.ApiResponse response = await api.Api.HandleAsync(Broker.Http.ApiRequest.Create("GET", "/api/v4/emqx_prometheus?type=prometheus"));

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.ContentType, Does.StartWith("text/plain; version=0.0.4"));
        string text = response.BodyText;
        Assert.That(text, Does.Contain("# TYPE emqx_connections_count gauge\nemqx_connections_count 1\n"));
        Assert.That(text, Does.Contain("# TYPE emqx_packets_connect_received counter\nemqx_packets_connect_received 1\n"));
        Assert.That(text.Split('\n').Count(l => l.StartsWith("emqx_packets_", StringComparison.Ordinal)), Is.EqualTo(40), "every packets.* counter");
    }
}
