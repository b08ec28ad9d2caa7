using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Broker.Tests.Http;

/// <summary>The management API through the real HttpListener host, as the standalone server starts it.</summary>
[TestFixture]
public sealed class HttpHostTests
{
    [Test, CancelAfter(20_000)]
    public async Task Brokers_WithDefaultCredentials_Is200(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);

        JsonElement body = await server.GetAsync("/api/v4/brokers", cancellationToken);

        JsonElement broker = body.GetProperty("data")[0];
        Assert.That(body.GetProperty("code").GetInt32(), Is.Zero);
        Assert.That(broker.GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(broker.GetProperty("node_status").GetString(), Is.EqualTo("Running"));
    }

    [Test, CancelAfter(20_000)]
    public async Task NoCredentials_Is401WithChallenge(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        using var anonymous = new HttpClient { BaseAddress = server.Http.BaseAddress };

        using HttpResponseMessage response = await anonymous.GetAsync("/api/v4/clients", cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.Single().Scheme, Is.EqualTo("Basic"));
    }

    [Test, CancelAfter(20_000)]
    public async Task DefaultAppOff_NobodyGetsIn(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(o => o.ApiDefaultApp = false, cancellationToken);

        (HttpStatusCode status, _) = await server.SendAsync(HttpMethod.Get, "/api/v4/brokers", null, cancellationToken);

        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test, CancelAfter(20_000)]
    public async Task UnknownRoute_Is404_AndNonJsonBody_Is400(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);

        (HttpStatusCode missing, _) = await server.SendAsync(HttpMethod.Get, "/api/v4/no_such_route", null, cancellationToken);
        (HttpStatusCode notJson, JsonElement body) = await server.SendAsync(HttpMethod.Post, "/api/v4/apps", "app_id=a", cancellationToken);

        Assert.That(missing, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(notJson, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("code").GetInt32(), Is.EqualTo(109));
    }

    [Test, CancelAfter(20_000)]
    public async Task OversizedBody_Is413_AndTheHostKeepsAnswering(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(o => o.Api.MaxBodySize = 1024, cancellationToken);
        using var content = new ByteArrayContent(new byte[4096]);

        using HttpResponseMessage response = await server.Http.PostAsync("/api/v4/mqtt/publish", content, cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        await server.GetAsync("/api/v4/brokers", cancellationToken);
    }

    [Test, CancelAfter(30_000)]
    public async Task HalfSentRequest_DoesNotHoldUpOthers(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, server.Http.BaseAddress!.Port, cancellationToken);
        string head = "POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YWRtaW46cHVibGlj\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"topic\":";
        await slow.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken);

        JsonElement body = await server.GetAsync("/api/v4/brokers", cancellationToken);

        Assert.That(body.GetProperty("code").GetInt32(), Is.Zero);
    }

    [Test, CancelAfter(20_000)]
    public async Task Status_NeedsNoCredentials(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        using var anonymous = new HttpClient { BaseAddress = server.Http.BaseAddress };

        string text = await anonymous.GetStringAsync("/status", cancellationToken);

        Assert.That(text, Does.Contain("is running"));
    }

    [Test, CancelAfter(20_000)]
    public async Task AppCreatedThroughTheApi_SurvivesARestart_WithItsSecretHashed(CancellationToken cancellationToken)
    {
        string directory = Path.Combine(Path.GetTempPath(), "broker-api-restart-" + Guid.NewGuid().ToString("N"));
        try
        {
            string secret;
            await using (ServerApi first = await ServerApi.StartAsync(o => o.DataDirectory = directory, cancellationToken))
            {
                JsonElement created = await first.PostAsync("/api/v4/apps", """{"app_id":"ops","name":"Ops","desc":"operators"}""", cancellationToken);
                secret = created.GetProperty("data").GetProperty("secret").GetString()!;
            }

            string file = Broker.Tests.TestSupport.DatabaseDump.Values(directory, "apps");
            Assert.That(file, Does.Contain("ops").And.Not.Contain(secret).And.Not.Contain("|public|"));

            await using ServerApi second = await ServerApi.StartAsync(o => o.DataDirectory = directory, cancellationToken);
            second.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + secret)));
            JsonElement apps = await second.GetAsync("/api/v4/apps", cancellationToken);
            Assert.That(apps.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("app_id").GetString()), Is.EquivalentTo(new[] { "admin", "ops" }));
            Assert.That(apps.GetRawText(), Does.Not.Contain("secret"));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
