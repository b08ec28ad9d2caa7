using System.Text.Json;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Http;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Http;

/// <summary>The routes over the user database, ACL, banned list, plugins, configs and alarms, with their effect on MQTT clients.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SecurityRoutesTests
{
    private static async Task<int> ConnectCodeAsync(ApiHarness api, string clientId, string? userName = null, string? password = null)
    {
        PipeClient client = api.Test.Open();
        ConnAckPacket ack = await client.SendConnectAsync(new ConnectPacket
        {
            ProtocolName = "MQTT",
            ProtocolVersion = ProtocolVersion.V500,
            ClientId = clientId,
            CleanStart = true,
            UserName = userName,
            Password = password is null ? null : System.Text.Encoding.UTF8.GetBytes(password),
        });
        return (int)ack.ReasonCode;
    }

    private static string Raw(JsonElement element) => element.GetRawText();

    // The contract's example: POST [{"login":"test5","password":"public","is_superuser":false}] → {"data":{"test5":"ok"},"code":0}.
    [Test]
    public async Task AuthUser_AddBatch_List_Update_Delete_AndTheUserAuthenticates()
    {
        await using var api = new ApiHarness(o => o.AllowAnonymous = false);

        JsonElement added = await api.JsonAsync("POST", "/api/auth_user", """[{"login":"test5","password":"public","is_superuser":false}]""");
        Assert.That(Raw(added), Is.EqualTo("""{"code":0,"data":{"test5":"ok"}}"""));
        Assert.That(await ConnectCodeAsync(api, "c1", "test5", "public"), Is.Zero);
        Assert.That(await ConnectCodeAsync(api, "c2", "test5", "wrong"), Is.EqualTo(0x86));

        JsonElement list = await api.GetAsync("/api/v4/auth_user");
        Assert.That(Raw(list.GetProperty("meta")), Is.EqualTo("""{"page":1,"limit":10000,"count":1}"""));
        JsonElement row = list.GetProperty("data")[0];
        Assert.That(row.GetProperty("login").GetString(), Is.EqualTo("test5"));
        Assert.That(row.GetProperty("password").GetString(), Has.Length.EqualTo(64), "the stored sha256 hex digest, never the password");
        Assert.That(row.GetProperty("is_superuser").GetBoolean(), Is.False);

        Assert.That(Raw(await api.JsonAsync("PUT", "/api/auth_user/test5", """{"password":"public1", "is_superuser": false}""")), Is.EqualTo("""{"code":0}"""));
        Assert.That(await ConnectCodeAsync(api, "c3", "test5", "public1"), Is.Zero);

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/auth_user/test5")), Is.EqualTo("""{"code":0}"""));
        Assert.That(await ConnectCodeAsync(api, "c4", "test5", "public1"), Is.EqualTo(0x87));
    }

    // EMQX 4.4: single add {"code":0}; again {"message":"existed"} (no code); missing password {"message":"password"}.
    [Test]
    public async Task AuthUsername_SingleAdd_Existed_Validation_Lookup_Update()
    {
        await using var api = new ApiHarness();

        Assert.That(Raw(await api.JsonAsync("POST", "/api/v4/auth_username", """{"username":"u1","password":"p"}""")), Is.EqualTo("""{"code":0}"""));
        Assert.That(Raw(await api.JsonAsync("POST", "/api/v4/auth_username", """{"username":"u1","password":"p"}""")), Is.EqualTo("""{"message":"existed"}"""));
        Assert.That(Raw(await api.JsonAsync("POST", "/api/v4/auth_username", """{"username":"u2"}""")), Is.EqualTo("""{"message":"password"}"""));
        Assert.That(Raw(await api.JsonAsync("POST", "/api/v4/auth_username", """{"password":"p"}""")), Is.EqualTo("""{"message":"login"}"""));

        long created = api.Test.Time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.That(Raw(await api.GetAsync("/api/v4/auth_username/u1")), Is.EqualTo($$$"""{"code":0,"data":{"username":"u1","created_at":{{{created}}}}}"""));
        Assert.That(Raw(await api.GetAsync("/api/v4/auth_username/nobody")), Is.EqualTo("""{"code":0,"data":{}}"""));
        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v4/auth_username/nobody", """{"password":"x"}""")), Is.EqualTo("""{"message":"noexisted"}"""));
        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v4/auth_username/u1", """{"password":"x"}""")), Is.EqualTo("""{"code":0}"""));
        Assert.That(await ConnectCodeAsync(api, "c", "u1", "x"), Is.Zero);
    }

    [Test]
    public async Task AuthClientId_BatchAdd_ListFiltered_NewestFirst()
    {
        await using var api = new ApiHarness();

        JsonElement batch = await api.JsonAsync("POST", "/api/v4/auth_clientid", """[{"clientid":"dev1","password":"a"},{"clientid":"dev1","password":"b"},{"clientid":"dev2","password":"c"}]""");
        Assert.That(Raw(batch), Is.EqualTo("""{"code":0,"data":{"dev1":"existed","dev2":"ok"}}""").Or.EqualTo("""{"code":0,"data":{"dev1":"ok","dev1":"existed","dev2":"ok"}}"""));

        JsonElement all = await api.GetAsync("/api/v4/auth_clientid?_limit=1");
        Assert.That(Raw(all.GetProperty("meta")), Is.EqualTo("""{"page":1,"limit":1,"count":2,"hasnext":true}"""));
        JsonElement filtered = await api.GetAsync("/api/v4/auth_clientid?_like_clientid=v2");
        Assert.That(filtered.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
        Assert.That(filtered.GetProperty("data")[0].GetProperty("clientid").GetString(), Is.EqualTo("dev2"));
        Assert.That(filtered.GetProperty("meta").GetProperty("count").GetInt32(), Is.EqualTo(-1));

        Assert.That(await ConnectCodeAsync(api, "dev1", null, "a"), Is.Zero);
        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/v4/auth_clientid/dev1")), Is.EqualTo("""{"code":0}"""));
        Assert.That(api.Broker.Users.Find(UserKind.ClientId, "dev1"), Is.Null);
    }

    // EMQX 4.4's /acl: echo with result "ok"; pubsub stored as pub + sub; lists per kind; delete by URL-encoded topic.
    [Test]
    public async Task Acl_AddListDelete_AndTheRuleDenies()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("c1");

        JsonElement added = await api.JsonAsync("POST", "/api/v4/acl", """{"topic":"test/nosubscribe","action":"pubsub","access":"deny"}""");
        Assert.That(Raw(added), Is.EqualTo("""{"code":0,"data":{"all":"$all","topic":"test/nosubscribe","action":"pubsub","access":"deny","result":"ok"}}"""));
        Assert.That(await client.SubscribeAsync("test/nosubscribe"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));

        JsonElement batch = await api.JsonAsync("POST", "/api/v4/acl", """[{"clientid":"c1","topic":"a/#","action":"sub","access":"allow"},{"username":"u","topic":"b","action":"pub","access":"deny"}]""");
        Assert.That(batch.GetProperty("data").GetArrayLength(), Is.EqualTo(2));
        Assert.That(batch.GetProperty("data")[1].GetProperty("username").GetString(), Is.EqualTo("u"));

        JsonElement all = await api.GetAsync("/api/v4/acl/$all");
        Assert.That(all.GetProperty("data").GetArrayLength(), Is.EqualTo(2));
        Assert.That(Raw(all.GetProperty("meta")), Is.EqualTo("""{"page":1,"limit":50,"count":2,"hasnext":false}"""));
        Assert.That(Raw(all.GetProperty("data")[0]), Is.EqualTo("""{"all":"$all","topic":"test/nosubscribe","action":"sub","access":"deny"}"""));
        Assert.That(Raw((await api.GetAsync("/api/v4/acl/clientid/c1")).GetProperty("data")), Is.EqualTo("""[{"clientid":"c1","topic":"a/#","action":"sub","access":"allow"}]"""));
        Assert.That((await api.GetAsync("/api/v4/acl/username?access=deny")).GetProperty("data").GetArrayLength(), Is.EqualTo(1));

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/v4/acl/$all/topic/test%2Fnosubscribe")), Is.EqualTo("""{"code":0}"""));
        Assert.That(await client.SubscribeAsync("test/nosubscribe"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
        Assert.That(api.Broker.Acl.Count, Is.EqualTo(2));
    }

    [Test]
    public async Task Acl_BadRule_Message()
    {
        await using var api = new ApiHarness();

        JsonElement body = await api.JsonAsync("POST", "/api/v4/acl", """{"topic":"t","action":"read","access":"deny"}""");

        Assert.That(body.GetProperty("message").GetString(), Does.StartWith("{add,"));
        Assert.That(body.TryGetProperty("code", out _), Is.False);
        Assert.That(api.Broker.Acl.Count, Is.Zero);
    }

    // The contract's /emqx_acl example: [{"topic":"test","login":"test3","allow":false,"action":"pubsub"}] → {"data":{"test3":"ok"},"code":0}.
    [Test]
    public async Task EmqxAcl_ContractExample()
    {
        await using var api = new ApiHarness();

        Assert.That(Raw(await api.JsonAsync("POST", "/api/emqx_acl", """[{"topic":"test","login":"test3","allow":false,"action":"pubsub"}]""")), Is.EqualTo("""{"code":0,"data":{"test3":"ok"}}"""));
        PipeClient client = await api.ConnectAsync("c", userName: "test3");
        Assert.That(await client.SubscribeAsync("test"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));

        JsonElement list = await api.GetAsync("/api/emqx_acl");
        Assert.That(Raw(list), Is.EqualTo("""{"code":0,"data":[{"topic":"test","login":"test3","allow":false,"action":"pubsub"}],"meta":{"page":1,"limit":10000,"count":1}}"""));

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/emqx_acl/test3/test")), Is.EqualTo("""{"code":0}"""));
        Assert.That(api.Broker.Acl.Count, Is.Zero);
    }

    // {"data":[{"updated_time":1582180824571,"topic":"test","result":"allow","access":"publish"}],"code":0}
    [Test]
    public async Task AclCache_ListedAndCleared()
    {
        await using var api = new ApiHarness(o => o.SysTopicsEnabled = false);
        api.Broker.Acl.Add(AclTarget.All, null, "other", AclAction.Publish, AclAccess.Deny);
        PipeClient client = await api.ConnectAsync("example");
        await client.PublishAsync("test", "m", QualityOfService.AtLeastOnce, packetId: 1);
        await client.ExpectAckAsync(PacketType.PubAck, 1);

        JsonElement cache = await api.GetAsync("/api/v4/clients/example/acl_cache");
        long now = api.Test.Time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.That(Raw(cache), Is.EqualTo($$$"""{"code":0,"data":[{"access":"publish","topic":"test","result":"allow","updated_time":{{{now}}}}]}"""));

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/v4/clients/example/acl_cache")), Is.EqualTo("""{"code":0}"""));
        Assert.That(Raw((await api.GetAsync("/api/v4/clients/example/acl_cache")).GetProperty("data")), Is.EqualTo("[]"));
        Assert.That((await api.GetAsync("/api/v4/clients/ghost/acl_cache")).GetProperty("code").GetInt32(), Is.EqualTo(112));
    }

    // Behaviour doc 2.6: by = "user", at = now, until = now + 300; missing who/as 107; bad as 108.
    [Test]
    public async Task Banned_V4_CreateDefaults_Refuses_List_Delete()
    {
        await using var api = new ApiHarness();
        long now = api.Test.Time.GetUtcNow().ToUnixTimeSeconds();

        JsonElement created = await api.JsonAsync("POST", "/api/v4/banned", """{"who":"bad","as":"clientid","reason":"spam"}""");
        Assert.That(Raw(created), Is.EqualTo($$$"""{"code":0,"data":{"who":"bad","as":"clientid","reason":"spam","by":"user","at":{{{now}}},"until":{{{now + 300}}}}}"""));
        Assert.That(await ConnectCodeAsync(api, "bad"), Is.EqualTo(0x8A));

        JsonElement list = await api.GetAsync("/api/v4/banned");
        Assert.That(Raw(list.GetProperty("meta")), Is.EqualTo("""{"page":1,"limit":10000,"count":1}"""));
        Assert.That(list.GetProperty("data")[0].GetProperty("who").GetString(), Is.EqualTo("bad"));

        Assert.That((await api.JsonAsync("POST", "/api/v4/banned", """{"as":"clientid"}""")).GetProperty("code").GetInt32(), Is.EqualTo(107));
        Assert.That((await api.JsonAsync("POST", "/api/v4/banned", """{"who":"x","as":"ip"}""")).GetProperty("code").GetInt32(), Is.EqualTo(108));

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/v4/banned/clientid/bad")), Is.EqualTo("""{"code":0}"""));
        Assert.That(await ConnectCodeAsync(api, "bad"), Is.Zero);
    }

    [Test]
    public async Task Banned_V3_ItemsMeta_CreateEcho_DeleteOk()
    {
        await using var api = new ApiHarness();
        long until = api.Test.Time.GetUtcNow().ToUnixTimeSeconds() + 3600;
        string body = $$$"""{"who":"clientId1","as":"client_id","reason":"banned the clientId","desc":"normal banned","until":{{{until}}}}""";

        JsonElement created = await api.JsonAsync("POST", "/api/v3/banned", body);
        Assert.That(Raw(created), Is.EqualTo($$$"""{"who":"clientId1","as":"client_id","reason":"banned the clientId","desc":"normal banned","by":"user","until":{{{until}}}}"""));

        JsonElement list = await api.GetAsync("/api/v3/banned?_page=1&_limit=10000");
        Assert.That(Raw(list), Is.EqualTo($$$"""{"items":[{"who":"clientId1","as":"client_id","reason":"banned the clientId","desc":"normal banned","by":"user","until":{{{until}}}}],"meta":{"page":1,"limit":10000,"count":1}}"""));

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/v3/banned/clientId1?as=client_id")), Is.EqualTo("\"ok\""));
        Assert.That(api.Broker.Banned.Count, Is.Zero);
    }

    [Test]
    public async Task Plugins_V3_ListUnloadLoad_RetainerReallyOff()
    {
        await using var api = new ApiHarness(o => o.SysTopicsEnabled = false);

        JsonElement list = await api.GetAsync("/api/v3/plugins/");
        Assert.That(list[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        JsonElement retainer = list[0].GetProperty("plugins").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "emqx_retainer");
        Assert.That(retainer.GetProperty("active").GetBoolean(), Is.True);
        Assert.That(retainer.GetProperty("description").GetString(), Is.EqualTo("EMQ X Retainer"));

        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v3/nodes/broker@127.0.0.1/plugins/emqx_retainer/unload")), Is.EqualTo("\"ok\""));
        ApiResponse again = await api.SendAsync("PUT", "/api/v3/nodes/broker@127.0.0.1/plugins/emqx_retainer/unload");
        Assert.That(again.Status, Is.EqualTo(500));
        Assert.That(again.BodyText, Is.EqualTo("""{"message":"not_started"}"""));
        Assert.That((await api.SendAsync("PUT", "/api/v3/nodes/other@host/plugins/emqx_retainer/load")).Status, Is.EqualTo(404));

        PipeClient publisher = await api.ConnectAsync("p");
        await publisher.PublishAsync("r", "x", QualityOfService.AtLeastOnce, packetId: 1, retain: true);
        await publisher.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(api.Broker.Retained.Count, Is.Zero);

        Assert.That(Raw((await api.GetAsync("/api/v3/nodes/broker@127.0.0.1/plugins/")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "emqx_retainer").GetProperty("active")), Is.EqualTo("false"));
    }

    [Test]
    public async Task Plugins_V4_LoadAlreadyLoaded_110_UnloadUnloaded_111()
    {
        await using var api = new ApiHarness();

        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v4/nodes/broker@127.0.0.1/plugins/emqx_sys/load")), Is.EqualTo("""{"code":110,"message":"already_started"}"""));
        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v4/plugins/emqx_sys/unload")), Is.EqualTo("""{"code":0}"""));
        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v4/plugins/emqx_sys/unload")), Is.EqualTo("""{"code":111,"message":"not_started"}"""));
        Assert.That(api.Broker.Options.SysTopicsEnabled, Is.False);
        JsonElement list = await api.GetAsync("/api/v4/plugins");
        Assert.That(list.GetProperty("data")[0].GetProperty("plugins").GetArrayLength(), Is.EqualTo(8));
    }

    [Test]
    public async Task Configs_V3_ListShape_PutAllowAnonymous_TakesEffect()
    {
        await using var api = new ApiHarness();

        JsonElement configs = await api.GetAsync("/api/v3/configs/");
        JsonElement item = configs[0].GetProperty("config").EnumerateArray().Single(c => c.GetProperty("key").GetString() == "retainer.max_payload_size");
        Assert.That(Raw(item), Is.EqualTo("""{"key":"retainer.max_payload_size","value":"1048576","datatpye":"bytesize","app":"emqx_retainer"}"""));
        Assert.That(configs[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));

        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v3/configs/emqx", """{"key": "mqtt.allow_anonymous", "value": "false"}""")), Is.EqualTo("\"ok\""));
        Assert.That(await ConnectCodeAsync(api, "anon"), Is.EqualTo(0x87));
        Assert.That(Raw(await api.JsonAsync("PUT", "/api/v3/nodes/broker@127.0.0.1/configs/emqx", """{"key": "mqtt.allow_anonymous", "value": true}""")), Is.EqualTo("\"ok\""));
        Assert.That(await ConnectCodeAsync(api, "anon2"), Is.Zero);

        ApiResponse bad = await api.SendAsync("PUT", "/api/v3/configs/emqx", """{"key": "mqtt.allow_anonymous", "value": "perhaps"}""");
        Assert.That(bad.Status, Is.EqualTo(400));
        Assert.That(bad.BodyText, Does.Contain("mqtt.allow_anonymous"));
    }

    [Test]
    public async Task Alarms_V4AndV3()
    {
        await using var api = new ApiHarness(o => o.SysTopicsEnabled = false);
        api.Broker.Alarms.Activate("custom_alarm", "many", new Dictionary<string, string> { ["usage"] = "85%" });
        api.Broker.Alarms.Activate("old", "gone");
        api.Test.Time.Advance(TimeSpan.FromSeconds(2));
        api.Broker.Alarms.Deactivate("old");

        JsonElement activated = await api.GetAsync("/api/v4/alarms/activated");
        JsonElement alarm = activated.GetProperty("data")[0].GetProperty("alarms")[0];
        Assert.That(activated.GetProperty("data")[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(alarm.GetProperty("name").GetString(), Is.EqualTo("custom_alarm"));
        Assert.That(Raw(alarm.GetProperty("details")), Is.EqualTo("""{"usage":"85%"}"""));
        Assert.That(alarm.GetProperty("deactivate_at").GetString(), Is.EqualTo("infinity"));
        Assert.That(alarm.GetProperty("duration").GetInt64(), Is.EqualTo(2000));
        Assert.That(alarm.GetProperty("activated").GetBoolean(), Is.True);

        JsonElement deactivated = (await api.GetAsync("/api/v4/alarms/deactivated")).GetProperty("data")[0].GetProperty("alarms");
        Assert.That(deactivated.GetArrayLength(), Is.EqualTo(1));
        Assert.That(deactivated[0].GetProperty("activated").GetBoolean(), Is.False);
        Assert.That((await api.GetAsync("/api/v4/alarms")).GetProperty("data")[0].GetProperty("alarms").GetArrayLength(), Is.EqualTo(2));

        JsonElement v3 = await api.GetAsync("/api/v3/alarms/");
        Assert.That(v3[0].GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
        Assert.That(v3[0].GetProperty("alarms").GetArrayLength(), Is.EqualTo(1));
        Assert.That((await api.GetAsync("/api/v3/alarms/broker@127.0.0.1")).GetArrayLength(), Is.EqualTo(1));

        Assert.That(Raw(await api.JsonAsync("DELETE", "/api/v4/alarms/deactivated")), Is.EqualTo("""{"code":0}"""));
        Assert.That(api.Broker.Alarms.ListDeactivated(), Is.Empty);
    }
}
