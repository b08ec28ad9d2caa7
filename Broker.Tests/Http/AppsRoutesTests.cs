using System.Text.Json;
using Broker.Http;
using Broker.Http.Auth;

namespace Broker.Tests.Http;

[TestFixture]
public sealed class AppsRoutesTests
{
    [Test]
    public async Task Create_ShowsTheSecretOnce_ListAndLookupNever()
    {
        await using var api = new ApiHarness();

        JsonElement created = await api.JsonAsync("POST", "/api/v4/apps", """{"app_id":"ops","name":"Ops","desc":"operators","status":true}""");
        string secret = created.GetProperty("data").GetProperty("secret").GetString()!;
        JsonElement list = await api.GetAsync("/api/v4/apps");
        JsonElement one = await api.GetAsync("/api/v4/apps/ops");

        Assert.That(secret, Has.Length.EqualTo(32));
        Assert.That(list.GetRawText(), Is.EqualTo(
            """{"code":0,"data":[{"app_id":"admin","name":"Default","desc":"Application user","status":true,"expired":null},{"app_id":"ops","name":"Ops","desc":"operators","status":true,"expired":null}]}"""));
        Assert.That(one.GetRawText(), Is.EqualTo("""{"code":0,"data":{"app_id":"ops","name":"Ops","desc":"operators","status":true,"expired":null}}"""));
        Assert.That((await api.SendAsync("GET", "/api/v4/brokers", authorization: ApiHarness.BasicAuth("ops", secret))).Status, Is.EqualTo(200));
    }

    [Test]
    public async Task Create_WithGivenSecret_Duplicate_BadId_Missing()
    {
        await using var api = new ApiHarness();

        JsonElement given = await api.JsonAsync("POST", "/api/v4/apps", """{"app_id":"svc","secret":"mine"}""");
        JsonElement duplicate = await api.JsonAsync("POST", "/api/v4/apps", """{"app_id":"svc"}""");
        JsonElement badId = await api.JsonAsync("POST", "/api/v4/apps", """{"app_id":"a b"}""");
        JsonElement missing = await api.JsonAsync("POST", "/api/v4/apps", """{"name":"x"}""");

        Assert.That(given.GetRawText(), Is.EqualTo("""{"code":0,"data":{"secret":"mine"}}"""));
        Assert.That(duplicate.GetProperty("code").GetInt32(), Is.EqualTo(102));
        Assert.That(badId.GetProperty("code").GetInt32(), Is.EqualTo(108));
        Assert.That(missing.GetProperty("code").GetInt32(), Is.EqualTo(107));
    }

    [Test]
    public async Task UpdateAndDelete()
    {
        await using var api = new ApiHarness();
        await api.JsonAsync("POST", "/api/v4/apps", """{"app_id":"svc","secret":"mine"}""");

        JsonElement updated = await api.JsonAsync("PUT", "/api/v4/apps/svc", """{"name":"Service","desc":"d","expired":4102444800}""");
        JsonElement unknown = await api.JsonAsync("PUT", "/api/v4/apps/nobody", """{"name":"x"}""");
        JsonElement one = await api.GetAsync("/api/v4/apps/svc");
        JsonElement deleted = await api.JsonAsync("DELETE", "/api/v4/apps/svc");
        JsonElement gone = await api.GetAsync("/api/v4/apps/svc");

        Assert.That(updated.GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That(unknown.GetProperty("code").GetInt32(), Is.EqualTo(102));
        Assert.That(one.GetProperty("data").GetProperty("expired").GetInt64(), Is.EqualTo(4102444800));
        Assert.That(one.GetProperty("data").GetProperty("name").GetString(), Is.EqualTo("Service"));
        Assert.That(deleted.GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That(gone.GetRawText(), Is.EqualTo("""{"code":0,"data":{}}"""));
        Assert.That((await api.SendAsync("GET", "/api/v4/brokers", authorization: ApiHarness.BasicAuth("svc", "mine"))).Status, Is.EqualTo(401));
    }

    [Test]
    public void SecretHasher_SaltsAndVerifies()
    {
        string a = SecretHasher.Hash("public", iterations: 10);
        string b = SecretHasher.Hash("public", iterations: 10);

        Assert.That(a, Is.Not.EqualTo(b), "salted");
        Assert.That(a, Does.StartWith("pbkdf2-sha256$10$").And.Not.Contain("public"));
        Assert.That(SecretHasher.Verify("public", a), Is.True);
        Assert.That(SecretHasher.Verify("Public", a), Is.False);
        Assert.That(SecretHasher.Verify("public", "garbage"), Is.False);
    }

    [Test]
    public void AppStore_DefaultApp_KeepsAnExistingOne()
    {
        var store = new AppStore(iterations: 1);
        store.Add("admin", "Mine", "changed", null, status: true, expired: null, out _);

        store.EnsureDefault("admin", "public");

        Assert.That(store.Authenticate("admin", "changed"), Is.True);
        Assert.That(store.Authenticate("admin", "public"), Is.False);
        Assert.That(store.Find("admin")!.Name, Is.EqualTo("Mine"));
        Assert.That(store.AuthenticateBasic(ApiHarness.BasicAuth("admin", "changed")), Is.True);
        Assert.That(ApiResponse.Unauthorized().Status, Is.EqualTo(401));
    }
}
