using System.Text.Json;
using Broker.Core.Metrics;
using Broker.Http;
using Broker.Tests.Http;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Rules;

/// <summary>The rule engine's routes over the in-memory broker: bodies as the contract's examples show them.</summary>
[TestFixture]
public sealed class RuleRoutesTests
{
    private const string InspectRule = """{"rawsql":"select * from \"t/a\"","actions":[{"name":"inspect","params":{"a":1}}],"description":"test-rule"}""";

    [Test, CancelAfter(10_000)]
    public async Task CreateGetListUpdateDelete_SpecExample()
    {
        await using var api = new ApiHarness();

        JsonElement created = (await api.JsonAsync("POST", "/api/v4/rules", InspectRule)).GetProperty("data");
        string id = created.GetProperty("id").GetString()!;

        Assert.That(id, Does.Match("^rule:[0-9a-f]{8}$"));
        Assert.That(created.GetProperty("rawsql").GetString(), Is.EqualTo("select * from \"t/a\""));
        Assert.That(created.GetProperty("for").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "t/a" }));
        Assert.That(created.GetProperty("enabled").GetBoolean(), Is.True);
        Assert.That(created.GetProperty("description").GetString(), Is.EqualTo("test-rule"));
        JsonElement metrics = created.GetProperty("metrics")[0];
        Assert.That(metrics.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "speed_max", "speed_last5m", "speed", "node", "matched" }));
        Assert.That(metrics.GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        JsonElement action = created.GetProperty("actions")[0];
        Assert.That(action.GetProperty("name").GetString(), Is.EqualTo("inspect"));
        Assert.That(action.GetProperty("params").GetRawText(), Is.EqualTo("""{"a":1}"""));
        Assert.That(action.GetProperty("id").GetString(), Does.Match("^inspect_[0-9]+$"));
        Assert.That(action.GetProperty("metrics")[0].EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "success", "node", "failed" }));

        JsonElement fetched = (await api.GetAsync($"/api/v4/rules/{id}")).GetProperty("data");
        Assert.That(fetched.GetRawText(), Is.EqualTo(created.GetRawText()));
        JsonElement list = (await api.GetAsync("/api/v4/rules")).GetProperty("data");
        Assert.That(list.GetArrayLength(), Is.EqualTo(1));

        JsonElement updated = (await api.JsonAsync("PUT", $"/api/v4/rules/{id}", """{"rawsql":"select * from \"t/b\""}""")).GetProperty("data");
        Assert.That(updated.GetProperty("rawsql").GetString(), Is.EqualTo("select * from \"t/b\""));
        Assert.That(updated.GetProperty("for")[0].GetString(), Is.EqualTo("t/b"));
        Assert.That(updated.GetProperty("actions")[0].GetProperty("id").GetString(), Is.EqualTo(action.GetProperty("id").GetString()), "actions not given are kept");

        JsonElement disabled = (await api.JsonAsync("PUT", $"/api/v4/rules/{id}", """{"enabled":false}""")).GetProperty("data");
        Assert.That(disabled.GetProperty("enabled").GetBoolean(), Is.False);

        Assert.That((await api.JsonAsync("DELETE", $"/api/v4/rules/{id}")).GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That((await api.GetAsync("/api/v4/rules")).GetProperty("data").GetArrayLength(), Is.Zero);
        ApiResponse missing = await api.SendAsync("GET", $"/api/v4/rules/{id}");
        Assert.That(missing.Status, Is.EqualTo(404));
    }

    [TestCase("""{"rawsql":"SELECT * FRM \"t\"","actions":[]}""", "position 10", TestName = "Misspelt FROM")]
    [TestCase("""{"rawsql":"SELECT * FROM \"t\" WHERE payload.x >","actions":[]}""", "position 36", TestName = "Condition cut short")]
    [TestCase("""{"rawsql":"SELECT * FROM \"$events/nope\"","actions":[]}""", "unknown event", TestName = "Unknown event")]
    [TestCase("""{"rawsql":"SELECT * FROM \"a/#/b\"","actions":[]}""", "not a valid topic filter", TestName = "Bad topic filter")]
    [TestCase("""{"rawsql":"SELECT * FROM \"t\"","actions":[{"name":"explode","params":{}}]}""", "action explode not found", TestName = "Unknown action")]
    [TestCase("""{"rawsql":"SELECT * FROM \"t\"","actions":[{"name":"republish","params":{}}]}""", "target_topic is required", TestName = "Republish without topic")]
    [TestCase("""{"rawsql":"SELECT * FROM \"t\"","actions":[{"name":"data_to_webserver","params":{"$resource":"resource:nope"}}]}""", "resource:nope not found", TestName = "Missing resource")]
    [TestCase("""{"actions":[]}""", "rawsql is required", TestName = "No SQL")]
    [TestCase("""{"rawsql":"SELECT * FROM \"t\"","actions":{}}""", "actions must be an array", TestName = "Actions not an array")]
    public async Task CreateRule_BadInput_Is400WithMessage(string body, string message)
    {
        await using var api = new ApiHarness();

        ApiResponse response = await api.SendAsync("POST", "/api/v4/rules", body);

        Assert.That(response.Status, Is.EqualTo(400), response.BodyText);
        using JsonDocument json = JsonDocument.Parse(response.Body);
        Assert.That(json.RootElement.GetProperty("code").GetInt32(), Is.EqualTo(400));
        Assert.That(json.RootElement.GetProperty("message").GetString(), Does.Contain(message));
        Assert.That(api.Broker.Rules.Rules, Is.Empty);
    }

    [Test]
    public async Task Actions_ListAndGet_AsTheSpecShows()
    {
        await using var api = new ApiHarness();

        JsonElement inspect = (await api.GetAsync("/api/v4/actions/inspect")).GetProperty("data");
        JsonElement all = (await api.GetAsync("/api/v4/actions")).GetProperty("data");

        Assert.That(inspect.GetRawText(), Is.EqualTo("""{"types":[],"title":{"zh":"检查 (调试)","en":"Inspect (debug)"},"params":{},"name":"inspect","for":"$any","description":{"zh":"检查动作参数 (用以调试)","en":"Inspect the details of action params for debug purpose"},"app":"emqx_rule_engine"}"""));
        Assert.That(all.EnumerateArray().Select(a => a.GetProperty("name").GetString()), Is.SupersetOf(new[] { "inspect", "do_nothing", "republish", "data_to_webserver", "web_hook" }));
        Assert.That((await api.SendAsync("GET", "/api/v4/actions/nope")).Status, Is.EqualTo(404));
    }

    [Test]
    public async Task ResourceTypes_WebHook_AsTheSpecShows()
    {
        await using var api = new ApiHarness();

        JsonElement type = (await api.GetAsync("/api/v4/resource_types/web_hook")).GetProperty("data");
        JsonElement all = (await api.GetAsync("/api/v4/resource_types")).GetProperty("data");

        Assert.That(type.GetProperty("name").GetString(), Is.EqualTo("web_hook"));
        Assert.That(type.GetProperty("provider").GetString(), Is.EqualTo("emqx_web_hook"));
        Assert.That(type.GetProperty("params").GetProperty("url").GetProperty("required").GetBoolean(), Is.True);
        Assert.That(type.GetProperty("params").GetProperty("method").GetProperty("default").GetString(), Is.EqualTo("POST"));
        Assert.That(type.GetProperty("params").GetProperty("headers").GetProperty("type").GetString(), Is.EqualTo("object"));
        Assert.That(all.GetArrayLength(), Is.EqualTo(1));
    }

    [Test, CancelAfter(20_000)]
    public async Task Resources_CreateGetListDelete_SpecExample()
    {
        await using var api = new ApiHarness();
        const string body = """{"type":"web_hook","config":{"url":"http://127.0.0.1:9","headers":{"token":"axfw34y235wrq234t4ersgw4t"},"method":"POST"},"description":"web hook resource-1"}""";

        JsonElement created = (await api.JsonAsync("POST", "/api/v4/resources", body)).GetProperty("data");
        string id = created.GetProperty("id").GetString()!;
        Assert.That(id, Does.Match("^resource:[0-9a-f]{8}$"));
        Assert.That(created.GetRawText(), Is.EqualTo($$$$"""{"type":"web_hook","id":"{{{{id}}}}","description":"web hook resource-1","config":{"url":"http://127.0.0.1:9","headers":{"token":"axfw34y235wrq234t4ersgw4t"},"method":"POST"}}"""));

        JsonElement fetched = (await api.GetAsync($"/api/v4/resources/{id}")).GetProperty("data");
        JsonElement status = fetched.GetProperty("status")[0];
        Assert.That(status.GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(status.GetProperty("is_alive").GetBoolean(), Is.False, "nothing listens on port 9");
        Assert.That((await api.GetAsync("/api/v4/resources")).GetProperty("data")[0].TryGetProperty("status", out _), Is.False);

        // A resource a rule uses cannot go.
        string rule = $$$$"""{"rawsql":"SELECT * FROM \"t\"","actions":[{"name":"data_to_webserver","params":{"$resource":"{{{{id}}}}"}}]}""";
        string ruleId = (await api.JsonAsync("POST", "/api/v4/rules", rule)).GetProperty("data").GetProperty("id").GetString()!;
        Assert.That((await api.SendAsync("DELETE", $"/api/v4/resources/{id}")).Status, Is.EqualTo(400));

        await api.JsonAsync("DELETE", $"/api/v4/rules/{ruleId}");
        Assert.That((await api.JsonAsync("DELETE", $"/api/v4/resources/{id}")).GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That((await api.SendAsync("GET", $"/api/v4/resources/{id}")).Status, Is.EqualTo(404));
    }

    [TestCase("""{"type":"mysql","config":{}}""", "resource type mysql not found")]
    [TestCase("""{"type":"web_hook","config":{"url":"ftp://x"}}""", "is not an http or https URL")]
    [TestCase("""{"type":"web_hook","config":{}}""", "url is required")]
    [TestCase("""{"type":"web_hook","config":{"url":"http://a","method":"GET"}}""", "method must be POST or PUT")]
    [TestCase("""{"type":"web_hook"}""", "config is required")]
    public async Task CreateResource_BadInput_Is400(string body, string message)
    {
        await using var api = new ApiHarness();

        ApiResponse response = await api.SendAsync("POST", "/api/v4/resources", body);

        Assert.That(response.Status, Is.EqualTo(400));
        Assert.That(response.BodyText, Does.Contain(message));
    }

    [Test, CancelAfter(20_000)]
    public async Task Republish_WhereOnJsonField_TemplatedPayload_AndMetricsCount()
    {
        await using var api = new ApiHarness();
        const string rule = """
            {"rawsql":"SELECT payload.temp AS t, clientid FROM \"sensors/#\" WHERE payload.temp > 30",
             "actions":[{"name":"republish","params":{"target_topic":"alerts/${clientid}","payload_tmpl":"hot: ${t}","target_qos":1}}]}
            """;
        string id = (await api.JsonAsync("POST", "/api/v4/rules", rule)).GetProperty("data").GetProperty("id").GetString()!;
        PipeClient subscriber = await api.ConnectAsync("sub");
        await subscriber.SubscribeAsync("alerts/#", Broker.Core.Protocol.QualityOfService.AtLeastOnce);
        PipeClient publisher = await api.ConnectAsync("dev1");

        await publisher.PublishAsync("sensors/a", """{"temp":25}""");
        await publisher.PublishAsync("sensors/a", """{"temp":35}""");
        await publisher.PublishAsync("other/a", """{"temp":99}""");

        PublishModel alert = await subscriber.ExpectPublishAsync("alerts/dev1", "hot: 35");
        Assert.That(alert.QoS, Is.EqualTo(Broker.Core.Protocol.QualityOfService.AtLeastOnce));
        await subscriber.CompleteDeliveryAsync(alert);
        await Poll.UntilAsync(() => api.Broker.Counters.Get(CounterId.ActionsSuccess) == 1, CancellationToken.None);

        JsonElement data = (await api.GetAsync($"/api/v4/rules/{id}")).GetProperty("data");
        Assert.That(data.GetProperty("metrics")[0].GetProperty("matched").GetInt64(), Is.EqualTo(1));
        Assert.That(data.GetProperty("actions")[0].GetProperty("metrics")[0].GetProperty("success").GetInt64(), Is.EqualTo(1));
        Assert.That(data.GetProperty("actions")[0].GetProperty("metrics")[0].GetProperty("failed").GetInt64(), Is.Zero);
        JsonElement metrics = (await api.GetAsync("/api/v4/metrics")).GetProperty("data")[0].GetProperty("metrics");
        Assert.That(metrics.GetProperty("rules.matched").GetInt64(), Is.EqualTo(1));
        Assert.That(metrics.GetProperty("actions.success").GetInt64(), Is.EqualTo(1));
        Assert.That(metrics.GetProperty("actions.failure").GetInt64(), Is.Zero);
    }

    [Test, CancelAfter(20_000)]
    public async Task RuleSpeed_IsSampledEveryFiveSeconds()
    {
        await using var api = new ApiHarness();
        string id = (await api.JsonAsync("POST", "/api/v4/rules", """{"rawsql":"SELECT * FROM \"s/#\"","actions":[]}""")).GetProperty("data").GetProperty("id").GetString()!;
        PipeClient client = await api.ConnectAsync("c");
        for (ushort i = 1; i <= 10; i++)
        {
            await client.PublishAndCompleteAsync("s/x", "m", Broker.Core.Protocol.QualityOfService.AtLeastOnce, i);
        }

        api.Test.Advance(TimeSpan.FromSeconds(5));

        JsonElement metrics = default;
        await Poll.UntilAsync(
            () =>
            {
                metrics = api.JsonAsync("GET", $"/api/v4/rules/{id}").GetAwaiter().GetResult().GetProperty("data").GetProperty("metrics")[0];
                return metrics.GetProperty("speed").GetDouble() > 0;
            },
            CancellationToken.None);
        Assert.That(metrics.GetProperty("matched").GetInt64(), Is.EqualTo(10));
        Assert.That(metrics.GetProperty("speed").GetDouble(), Is.EqualTo(2.0));
        Assert.That(metrics.GetProperty("speed_max").GetDouble(), Is.EqualTo(2.0));
        Assert.That(metrics.GetProperty("speed_last5m").GetDouble(), Is.EqualTo(0.03));
    }

    [Test, CancelAfter(20_000)]
    public async Task DisabledRule_DoesNotRun_UntilEnabled()
    {
        await using var api = new ApiHarness();
        const string rule = """{"rawsql":"SELECT * FROM \"t\"","enabled":false,"actions":[{"name":"republish","params":{"target_topic":"copy","payload_tmpl":"${payload}"}}]}""";
        string id = (await api.JsonAsync("POST", "/api/v4/rules", rule)).GetProperty("data").GetProperty("id").GetString()!;
        PipeClient client = await api.ConnectAsync("c");
        await client.SubscribeAsync("copy");

        await client.PublishAndCompleteAsync("t", "one", Broker.Core.Protocol.QualityOfService.AtLeastOnce, 1);
        await api.JsonAsync("PUT", $"/api/v4/rules/{id}", """{"enabled":true}""");
        await client.PublishAsync("t", "two");

        await client.ExpectPublishAsync("copy", "two");
    }

    [Test, CancelAfter(20_000)]
    public async Task RepublishToItsOwnFilter_DoesNotLoop()
    {
        await using var api = new ApiHarness();
        const string rule = """{"rawsql":"SELECT * FROM \"loop/#\"","actions":[{"name":"republish","params":{"target_topic":"loop/again","payload_tmpl":"${payload}"}}]}""";
        await api.JsonAsync("POST", "/api/v4/rules", rule);
        PipeClient client = await api.ConnectAsync("c");
        await client.SubscribeAsync("loop/#");

        await client.PublishAsync("loop/start", "x");

        await client.ExpectPublishAsync("loop/start", "x");
        await client.ExpectPublishAsync("loop/again", "x");
        await Poll.UntilAsync(() => api.Broker.Counters.Get(CounterId.ActionsSuccess) == 1, CancellationToken.None);
        Assert.That(api.Broker.Rules.Rules[0].Matched, Is.EqualTo(1));
    }

    [Test, CancelAfter(20_000)]
    public async Task EventRules_SubscribedUnsubscribedDisconnected_Fire()
    {
        await using var api = new ApiHarness();
        const string rule = """
            {"rawsql":"SELECT event, clientid, topic FROM \"$events/session_subscribed\", \"$events/session_unsubscribed\", \"$events/client_disconnected\"",
             "actions":[{"name":"republish","params":{"target_topic":"events/${event}","payload_tmpl":"${clientid} ${topic}"}}]}
            """;
        await api.JsonAsync("POST", "/api/v4/rules", rule);
        PipeClient watcher = await api.ConnectAsync("watcher");
        await watcher.SubscribeAsync("events/#");
        await watcher.ExpectPublishAsync("events/session.subscribed", "watcher events/#");

        PipeClient other = await api.ConnectAsync("other");
        await other.SubscribeAsync("x/y");
        await watcher.ExpectPublishAsync("events/session.subscribed", "other x/y");
        await other.UnsubscribeAsync("x/y");
        await watcher.ExpectPublishAsync("events/session.unsubscribed", "other x/y");
        await other.DisconnectAsync();
        await watcher.ExpectPublishAsync("events/client.disconnected", "other ");
    }

    [Test, CancelAfter(20_000)]
    public async Task EventRules_DeliveredAckedDropped_Fire()
    {
        await using var api = new ApiHarness();
        const string rule = """
            {"rawsql":"SELECT event, clientid, from_clientid, topic, payload, reason FROM \"$events/message_delivered\", \"$events/message_acked\", \"$events/message_dropped\" WHERE topic =~ 'data/#'",
             "actions":[{"name":"republish","params":{"target_topic":"events/${event}","payload_tmpl":"${clientid}|${from_clientid}|${topic}|${payload}|${reason}"}}]}
            """;
        await api.JsonAsync("POST", "/api/v4/rules", rule);
        PipeClient watcher = await api.ConnectAsync("watcher");
        await watcher.SubscribeAsync("events/#");
        PipeClient publisher = await api.ConnectAsync("pub");

        await publisher.PublishAsync("data/nobody", "lost");
        await watcher.ExpectPublishAsync("events/message.dropped", "pub||data/nobody|lost|no_subscribers");

        PipeClient subscriber = await api.ConnectAsync("sub");
        await subscriber.SubscribeAsync("data/#", Broker.Core.Protocol.QualityOfService.AtLeastOnce);
        await publisher.PublishAsync("data/1", "hello", Broker.Core.Protocol.QualityOfService.AtLeastOnce, packetId: 1);
        await watcher.ExpectPublishAsync("events/message.delivered", "sub|pub|data/1|hello|");
        PublishModel delivery = await subscriber.ExpectPublishAsync("data/1", "hello");
        await subscriber.CompleteDeliveryAsync(delivery);
        await watcher.ExpectPublishAsync("events/message.acked", "sub|pub|data/1|hello|");
    }
}
