using System.Text.Json;
using Broker.Http;

namespace Broker.Tests.Http;

/// <summary>The framework: authentication, dispatch, error shapes, the route listings, paging parameters.</summary>
[TestFixture]
public sealed class ManagementApiTests
{
    [Test, CancelAfter(10_000)]
    public async Task NoCredentials_Is401WithBasicChallenge()
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.Api.HandleAsync(ApiRequest.Create("GET", "/api/v4/brokers"));

        Assert.That(response.Status, Is.EqualTo(401));
        Assert.That(response.Headers, Has.Some.Matches<KeyValuePair<string, string>>(h => h.Key == "WWW-Authenticate" && h.Value.StartsWith("Basic", StringComparison.Ordinal)));
    }

    [TestCase("admin", "wrong", TestName = "Wrong secret")]
    [TestCase("nobody", "public", TestName = "Unknown app")]
    [TestCase("", "", TestName = "Empty credentials")]
    public async Task WrongCredentials_Is401(string id, string secret)
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.SendAsync("GET", "/api/v4/brokers", authorization: ApiHarness.BasicAuth(id, secret));

        Assert.That(response.Status, Is.EqualTo(401));
    }

    [TestCase("Bearer abc", TestName = "Not Basic")]
    [TestCase("Basic !!!", TestName = "Not base64")]
    [TestCase("Basic YWRtaW4=", TestName = "No colon")]
    public async Task MalformedAuthorization_Is401(string header)
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.SendAsync("GET", "/api/v4/brokers", authorization: header);

        Assert.That(response.Status, Is.EqualTo(401));
    }

    [Test]
    public async Task DisabledApp_Is401_AndEnabledAgain_Is200()
    {
        await using var api = new ApiHarness();
        api.Apps.Add("ops", "Ops", "s3cret", null, status: true, expired: null, out _);
        string auth = ApiHarness.BasicAuth("ops", "s3cret");
        Assert.That((await api.SendAsync("GET", "/api/v4/brokers", authorization: auth)).Status, Is.EqualTo(200));

        JsonElement disabled = await api.JsonAsync("PUT", "/api/v4/apps/ops", """{"status":false}""");
        Assert.That(disabled.GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That((await api.SendAsync("GET", "/api/v4/brokers", authorization: auth)).Status, Is.EqualTo(401));

        await api.JsonAsync("PUT", "/api/v4/apps/ops", """{"status":true}""");
        Assert.That((await api.SendAsync("GET", "/api/v4/brokers", authorization: auth)).Status, Is.EqualTo(200));
    }

    [Test]
    public async Task ExpiredApp_Is401()
    {
        await using var api = new ApiHarness();
        long past = api.Test.Time.GetUtcNow().ToUnixTimeSeconds() - 1;
        api.Apps.Add("old", "Old", "s3cret", null, status: true, expired: past, out _);

        Assert.That((await api.SendAsync("GET", "/api/v4/brokers", authorization: ApiHarness.BasicAuth("old", "s3cret"))).Status, Is.EqualTo(401));
    }

    [TestCase("GET", "/api/v4/nothing_here")]
    [TestCase("GET", "/api/v4/clients/a/b/c/d")]
    [TestCase("PATCH", "/api/v4/clients")]
    [TestCase("POST", "/api/v4/brokers")]
    [TestCase("GET", "/metrics")]
    public async Task UnknownRouteOrMethod_Is404(string method, string path)
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.SendAsync(method, path);

        Assert.That(response.Status, Is.EqualTo(404));
        Assert.That(response.BodyText, Is.EqualTo("Not found."));
    }

    [Test]
    public async Task NodeScopedRoute_OtherNode_Is404()
    {
        await using var api = new ApiHarness();

        Assert.That((await api.SendAsync("GET", "/api/v4/nodes/emqx@10.0.0.9/clients")).Status, Is.EqualTo(404));
        Assert.That((await api.SendAsync("GET", "/api/v4/nodes/broker@127.0.0.1/clients")).Status, Is.EqualTo(200));
    }

    [TestCase("{\"app_id\":", TestName = "Truncated object")]
    [TestCase("app_id=x", TestName = "Form encoding")]
    [TestCase("{'app_id':'x'}", TestName = "Single quotes")]
    public async Task BodyNotJson_Is400WithCode109(string body)
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.SendAsync("POST", "/api/v4/apps", body);

        Assert.That(response.Status, Is.EqualTo(400));
        using JsonDocument json = JsonDocument.Parse(response.Body);
        Assert.That(json.RootElement.GetProperty("code").GetInt32(), Is.EqualTo(109));
        Assert.That(json.RootElement.GetProperty("message").ValueKind, Is.EqualTo(JsonValueKind.String));
    }

    [TestCase("_page=abc", TestName = "Page not a number")]
    [TestCase("_page=0", TestName = "Page zero")]
    [TestCase("_limit=-5", TestName = "Negative limit")]
    [TestCase("_limit=1e3", TestName = "Limit in exponent form")]
    public async Task BadPaging_Is400WithCode108(string query)
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.SendAsync("GET", "/api/v4/clients?" + query);

        Assert.That(response.Status, Is.EqualTo(400));
        using JsonDocument json = JsonDocument.Parse(response.Body);
        Assert.That(json.RootElement.GetProperty("code").GetInt32(), Is.EqualTo(108));
    }

    [Test]
    public async Task Status_NeedsNoCredentials()
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.Api.HandleAsync(ApiRequest.Create("GET", "/status"));

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.BodyText, Is.EqualTo("Node broker@127.0.0.1 is started\nbroker is running"));
    }

    [Test]
    public async Task V4Root_ListsEveryRoute()
    {
        await using var api = new ApiHarness();
        JsonElement body = await api.GetAsync("/api/v4");

        Assert.That(body.GetProperty("code").GetInt32(), Is.Zero);
        JsonElement[] routes = [.. body.GetProperty("data").EnumerateArray()];
        Assert.That(routes, Has.Length.EqualTo(api.Api.V4Routes.Routes.Count));
        Assert.That(routes, Has.Some.Matches<JsonElement>(r =>
            r.GetProperty("name").GetString() == "lookup_client" && r.GetProperty("method").GetString() == "GET"
            && r.GetProperty("path").GetString() == "/clients/:clientid" && r.GetProperty("descr").ValueKind == JsonValueKind.String));
    }

    [Test]
    public async Task V3Root_IsABareList()
    {
        await using var api = new ApiHarness();
        JsonElement body = await api.GetAsync("/api/v3/");

        Assert.That(body.ValueKind, Is.EqualTo(JsonValueKind.Array));
        Assert.That(body.GetArrayLength(), Is.EqualTo(api.Api.V3Routes.Routes.Count));
    }

    [Test]
    public async Task ApiPrefix_ServesTheV4Routes()
    {
        await using var api = new ApiHarness();
        JsonElement v4 = await api.GetAsync("/api/v4/brokers/broker@127.0.0.1");
        JsonElement bare = await api.GetAsync("/api/brokers/broker@127.0.0.1");

        Assert.That(bare.GetProperty("data").GetProperty("node").GetString(), Is.EqualTo(v4.GetProperty("data").GetProperty("node").GetString()));
    }

    [Test]
    public async Task HandlerFailure_Is500_AndTheApiKeepsAnswering()
    {
        await using var api = new ApiHarness();
        api.Api.V4Routes.Get("/boom", "boom", "fails", static _ => throw new InvalidOperationException("bug"));

        ApiResponse response = await api.SendAsync("GET", "/api/v4/boom");
        Assert.That(response.Status, Is.EqualTo(500));
        Assert.That((await api.SendAsync("GET", "/api/v4/brokers")).Status, Is.EqualTo(200));
    }
}
