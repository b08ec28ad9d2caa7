using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Broker.Core.Metrics;
using Broker.Core.Rules;
using Broker.Server;
using Broker.Tests.EndToEnd;
using Broker.Tests.Http;
using Broker.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.Rules;

/// <summary>
/// The rule engine in the standalone broker: rules created over the real HTTP API, MQTTnet clients over TCP, web hooks
/// posted to an <see cref="HttpListener"/> in the test, rules.json across a restart.
/// </summary>
[TestFixture]
public sealed class RuleEngineEndToEndTests
{
    [Test, CancelAfter(30_000)]
    public async Task Republish_WhereOnJsonPayloadField_ReachesAnMqttNetClient(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        const string rule = """
            {"rawsql":"SELECT payload.device AS device, payload.temp AS temp FROM \"sensors/+/data\" WHERE payload.temp >= 30 and payload.unit = 'C'",
             "actions":[{"name":"republish","params":{"target_topic":"alerts/${device}","payload_tmpl":"{\"device\":\"${device}\",\"temp\":${temp}}","target_qos":1}}]}
            """;
        JsonElement created = await server.PostAsync("/api/v4/rules", rule, cancellationToken);
        string id = created.GetProperty("data").GetProperty("id").GetString()!;
        NetClient subscriber = await server.ConnectAsync("alerts-reader", cancellationToken);
        await subscriber.SubscribeAsync("alerts/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        NetClient sensor = await server.ConnectAsync("sensor-1", cancellationToken);

        await sensor.PublishAsync("sensors/1/data", """{"device":"d1","temp":21,"unit":"C"}""", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await sensor.PublishAsync("sensors/1/data", """{"device":"d1","temp":35,"unit":"F"}""", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await sensor.PublishAsync("sensors/2/data", """{"device":"d2","temp":31.5,"unit":"C"}""", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        ReceivedMessage alert = await subscriber.ReceiveAsync(cancellationToken);
        Assert.That(alert.Topic, Is.EqualTo("alerts/d2"));
        Assert.That(alert.PayloadText, Is.EqualTo("""{"device":"d2","temp":31.5}"""));
        Assert.That(alert.QoS, Is.EqualTo(MqttQualityOfServiceLevel.AtLeastOnce));

        await Poll.UntilAsync(() => server.Host.Broker.Counters.Get(CounterId.ActionsSuccess) == 1, cancellationToken);
        JsonElement data = (await server.GetAsync($"/api/v4/rules/{id}", cancellationToken)).GetProperty("data");
        Assert.That(data.GetProperty("metrics")[0].GetProperty("matched").GetInt64(), Is.EqualTo(1));
        Assert.That(data.GetProperty("actions")[0].GetProperty("metrics")[0].GetProperty("success").GetInt64(), Is.EqualTo(1));
        Assert.That(subscriber.Pending, Is.Zero, "only the matching message was republished");
    }

    [Test, CancelAfter(30_000)]
    public async Task WebHook_PostsTheSelectedFields_AndCountsSuccessAndFailure(CancellationToken cancellationToken)
    {
        using var hook = new HookServer();
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        string resource = $$$$"""{"type":"web_hook","config":{"url":"{{{{hook.Url}}}}hook","headers":{"token":"s3cret"},"method":"POST","request_timeout":"5s"},"description":"test hook"}""";
        string resourceId = (await server.PostAsync("/api/v4/resources", resource, cancellationToken)).GetProperty("data").GetProperty("id").GetString()!;
        string rule = $$$$"""
            {"rawsql":"SELECT clientid, topic, payload.v AS v, qos FROM \"hook/#\"",
             "actions":[{"name":"data_to_webserver","params":{"$resource":"{{{{resourceId}}}}","path":"${topic}","headers":{"x-rule":"yes"}}}]}
            """;
        string ruleId = (await server.PostAsync("/api/v4/rules", rule, cancellationToken)).GetProperty("data").GetProperty("id").GetString()!;
        NetClient client = await server.ConnectAsync("hooked", cancellationToken);

        await client.PublishAsync("hook/ok", """{"v":42}""", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        HookRequest request = await hook.Requests.Reader.ReadAsync(cancellationToken);

        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(request.Path, Is.EqualTo("/hook/hook/ok"));
        Assert.That(request.Headers["token"], Is.EqualTo("s3cret"));
        Assert.That(request.Headers["x-rule"], Is.EqualTo("yes"));
        Assert.That(request.ContentType, Does.StartWith("application/json"));
        Assert.That(request.Body, Is.EqualTo("""{"clientid":"hooked","topic":"hook/ok","v":42,"qos":1}"""));
        await Poll.UntilAsync(() => server.Host.Broker.Counters.Get(CounterId.ActionsSuccess) == 1, cancellationToken);

        // The hook server answers 500 to this one: the action fails.
        hook.FailNext = true;
        await client.PublishAsync("hook/bad", """{"v":1}""", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await hook.Requests.Reader.ReadAsync(cancellationToken);
        await Poll.UntilAsync(() => server.Host.Broker.Counters.Get(CounterId.ActionsFailure) == 1, cancellationToken);

        JsonElement action = (await server.GetAsync($"/api/v4/rules/{ruleId}", cancellationToken)).GetProperty("data").GetProperty("actions")[0];
        Assert.That(action.GetProperty("metrics")[0].GetProperty("success").GetInt64(), Is.EqualTo(1));
        Assert.That(action.GetProperty("metrics")[0].GetProperty("failed").GetInt64(), Is.EqualTo(1));
        JsonElement metrics = (await server.GetAsync("/api/v4/metrics", cancellationToken)).GetProperty("data")[0].GetProperty("metrics");
        Assert.That(metrics.GetProperty("rules.matched").GetInt64(), Is.EqualTo(2));
        Assert.That(metrics.GetProperty("actions.success").GetInt64(), Is.EqualTo(1));
        Assert.That(metrics.GetProperty("actions.failure").GetInt64(), Is.EqualTo(1));
        JsonElement status = (await server.GetAsync($"/api/v4/resources/{resourceId}", cancellationToken)).GetProperty("data").GetProperty("status")[0];
        Assert.That(status.GetProperty("is_alive").GetBoolean(), Is.True);
    }

    [Test, CancelAfter(30_000)]
    public async Task ClientConnectedEvent_FiresWithTheEventFields(CancellationToken cancellationToken)
    {
        using var hook = new HookServer();
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        string resourceId = (await server.PostAsync("/api/v4/resources", $$$$"""{"type":"web_hook","config":{"url":"{{{{hook.Url}}}}"}}""", cancellationToken))
            .GetProperty("data").GetProperty("id").GetString()!;
        string rule = $$$$"""{"rawsql":"SELECT * FROM \"$events/client_connected\" WHERE clientid = 'watched'","actions":[{"name":"web_hook","params":{"$resource":"{{{{resourceId}}}}"}}]}""";
        await server.PostAsync("/api/v4/rules", rule, cancellationToken);

        await server.ConnectAsync("ignored", cancellationToken);
        await server.ConnectAsync("watched", cancellationToken, MqttProtocolVersion.V311);
        HookRequest request = await hook.Requests.Reader.ReadAsync(cancellationToken);

        using JsonDocument body = JsonDocument.Parse(request.Body);
        JsonElement e = body.RootElement;
        Assert.That(e.GetProperty("event").GetString(), Is.EqualTo("client.connected"));
        Assert.That(e.GetProperty("clientid").GetString(), Is.EqualTo("watched"));
        Assert.That(e.GetProperty("proto_name").GetString(), Is.EqualTo("MQTT"));
        Assert.That(e.GetProperty("proto_ver").GetInt32(), Is.EqualTo(4));
        Assert.That(e.GetProperty("clean_start").GetBoolean(), Is.True);
        Assert.That(e.GetProperty("peername").GetString(), Does.StartWith("127.0.0.1:"));
        Assert.That(e.GetProperty("node").GetString(), Is.EqualTo(server.Host.Broker.Options.NodeName));
        foreach (string field in new[] { "username", "mountpoint", "sockname", "keepalive", "expiry_interval", "is_bridge", "connected_at", "timestamp" })
        {
            Assert.That(e.TryGetProperty(field, out _), Is.True, field);
        }

        Assert.That(server.Host.Broker.Counters.Get(CounterId.RulesMatched), Is.EqualTo(1), "the other client did not match the WHERE");
    }

    [Test, CancelAfter(30_000)]
    public async Task FullActionQueue_FailsActions_WithoutBlockingPublishers(CancellationToken cancellationToken)
    {
        using var hook = new HookServer { Hold = true };
        await using ServerApi server = await ServerApi.StartAsync(o => o.Broker.RuleActionQueueLength = 1, cancellationToken);
        string resourceId = (await server.PostAsync("/api/v4/resources", $$$$"""{"type":"web_hook","config":{"url":"{{{{hook.Url}}}}","request_timeout":"1s"}}""", cancellationToken))
            .GetProperty("data").GetProperty("id").GetString()!;
        await server.PostAsync("/api/v4/rules", $$$$"""{"rawsql":"SELECT * FROM \"q/#\"","actions":[{"name":"web_hook","params":{"$resource":"{{{{resourceId}}}}"}}]}""", cancellationToken);
        NetClient client = await server.ConnectAsync("flood", cancellationToken);
        const int Count = RuleEngine.MaxConcurrentWebHooks + 20;

        // Every publish is acknowledged although the hook holds every request: the queue overflows instead.
        for (int i = 0; i < Count; i++)
        {
            await client.PublishAsync("q/" + i, "x", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        }

        Core.MqttBroker broker = server.Host.Broker;
        await Poll.UntilAsync(() => broker.Counters.Get(CounterId.RulesMatched) == Count, cancellationToken);
        await Poll.UntilAsync(() => broker.Counters.Get(CounterId.ActionsFailure) == Count, cancellationToken);
        Assert.That(broker.Counters.Get(CounterId.ActionsSuccess), Is.Zero);
    }

    [Test, CancelAfter(30_000)]
    public async Task RulesAndResources_SurviveARestart(CancellationToken cancellationToken)
    {
        string directory = Path.Combine(Path.GetTempPath(), "broker-rules-tests-" + Guid.NewGuid().ToString("N"));
        try
        {
            ServerOptions Options() => new() { Bind = IPAddress.Loopback, MqttPort = 0, DataDirectory = directory, ApiEnabled = false };
            string ruleId;
            string resourceId;
            await using (var first = new BrokerHost(Options(), NullLoggerFactory.Instance))
            {
                RuleEngine rules = first.Broker.Rules;
                using JsonDocument config = JsonDocument.Parse("""{"url":"http://127.0.0.1:9/x","headers":{"a":"b"}}""");
                resourceId = rules.CreateResource(null, "web_hook", config.RootElement, "r").Id;
                using JsonDocument hookParams = JsonDocument.Parse($$$$"""{"$resource":"{{{{resourceId}}}}"}""");
                using JsonDocument republishParams = JsonDocument.Parse("""{"target_topic":"b/${clientid}"}""");
                ruleId = rules.CreateRule(null, """SELECT * FROM "a/#" WHERE qos > 0""", [("data_to_webserver", hookParams.RootElement), ("republish", republishParams.RootElement)], "kept", enabled: false).Id;
            }

            await using var second = new BrokerHost(Options(), NullLoggerFactory.Instance);
            Assert.That(second.Store.LoadDocuments("rules"), Has.Count.EqualTo(1), "kept in the database, not a file");
            Assert.That(File.Exists(Path.Combine(directory, "rules.json")), Is.False);
            Rule rule = second.Broker.Rules.FindRule(ruleId)!;
            Assert.That(rule, Is.Not.Null);
            Assert.That(rule.Definition.RawSql, Is.EqualTo("""SELECT * FROM "a/#" WHERE qos > 0"""));
            Assert.That(rule.Definition.Description, Is.EqualTo("kept"));
            Assert.That(rule.Enabled, Is.False);
            Assert.That(rule.Actions.Select(a => a.Name), Is.EqualTo(new[] { "data_to_webserver", "republish" }));
            Assert.That(rule.Actions[1].Parameters.GetRawText(), Is.EqualTo("""{"target_topic":"b/${clientid}"}"""));
            RuleResource resource = second.Broker.Rules.FindResource(resourceId)!;
            Assert.That(resource.Config.GetRawText(), Is.EqualTo("""{"url":"http://127.0.0.1:9/x","headers":{"a":"b"}}"""));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task DamagedRulesFile_SkipsWhatCannotLoad_AndStarts()
    {
        string directory = Path.Combine(Path.GetTempPath(), "broker-rules-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "rules.json"), """
                {"resources":[5,{"id":"resource:1","type":"mysql","config":{}}],
                 "rules":["x",{"id":"rule:bad","rawsql":"SELECT FROM","actions":[]},
                         {"id":"rule:nores","rawsql":"SELECT * FROM \"t\"","actions":[{"id":"w_1","name":"web_hook","params":{"$resource":"resource:1"}}]},
                         {"id":"rule:good","rawsql":"SELECT * FROM \"t\"","actions":[{"id":"do_nothing_1","name":"do_nothing","params":{}}],"enabled":true}]}
                """);

            await using var host = new BrokerHost(new ServerOptions { Bind = IPAddress.Loopback, MqttPort = 0, DataDirectory = directory, ApiEnabled = false }, NullLoggerFactory.Instance);

            Assert.That(host.Broker.Rules.Rules.Select(r => r.Id), Is.EqualTo(new[] { "rule:good" }));
            Assert.That(host.Broker.Rules.Resources, Is.Empty);
            Assert.That(File.Exists(Path.Combine(directory, "rules.json.imported")), Is.True, "a rules.json of earlier versions is imported once");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed record HookRequest(string Method, string Path, string? ContentType, Dictionary<string, string> Headers, string Body);

    /// <summary>A web server on 127.0.0.1 that records each request; answers 200, 500 when told, or never when holding.</summary>
    private sealed class HookServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly CancellationTokenSource _stop = new();

        public HookServer()
        {
            // HttpListener cannot bind port 0: take a free port from the OS, then listen on it.
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public Channel<HookRequest> Requests { get; } = Channel.CreateUnbounded<HookRequest>();

        public volatile bool FailNext;

        public bool Hold { get; init; }

        private readonly ConcurrentBag<HttpListenerContext> _held = [];

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpListenerException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                string body = await reader.ReadToEndAsync();
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (string? name in context.Request.Headers.AllKeys)
                {
                    if (name is not null)
                    {
                        headers[name] = context.Request.Headers[name] ?? string.Empty;
                    }
                }

                Requests.Writer.TryWrite(new HookRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, headers, body));
                if (Hold)
                {
                    _held.Add(context);
                    continue;
                }

                context.Response.StatusCode = FailNext ? 500 : 200;
                FailNext = false;
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Close();
            _stop.Dispose();
        }
    }
}
