using System.Net;
using System.Text.Json;
using Broker.Core;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Http;

[TestFixture]
public sealed class ClientsRoutesTests
{
    // Every field of the document's client example, with its JSON type.
    private static readonly (string Name, JsonValueKind Kind)[] s_clientFields =
    [
        ("node", JsonValueKind.String), ("clientid", JsonValueKind.String), ("username", JsonValueKind.String),
        ("proto_name", JsonValueKind.String), ("proto_ver", JsonValueKind.Number), ("ip_address", JsonValueKind.String),
        ("port", JsonValueKind.Number), ("is_bridge", JsonValueKind.False), ("connected_at", JsonValueKind.String),
        ("connected", JsonValueKind.True), ("zone", JsonValueKind.String), ("keepalive", JsonValueKind.Number),
        ("clean_start", JsonValueKind.True), ("expiry_interval", JsonValueKind.Number), ("created_at", JsonValueKind.String),
        ("subscriptions_cnt", JsonValueKind.Number), ("max_subscriptions", JsonValueKind.Number), ("inflight", JsonValueKind.Number),
        ("max_inflight", JsonValueKind.Number), ("mqueue_len", JsonValueKind.Number), ("max_mqueue", JsonValueKind.Number),
        ("mqueue_dropped", JsonValueKind.Number), ("awaiting_rel", JsonValueKind.Number), ("max_awaiting_rel", JsonValueKind.Number),
        ("recv_oct", JsonValueKind.Number), ("recv_cnt", JsonValueKind.Number), ("recv_pkt", JsonValueKind.Number),
        ("recv_msg", JsonValueKind.Number), ("send_oct", JsonValueKind.Number), ("send_cnt", JsonValueKind.Number),
        ("send_pkt", JsonValueKind.Number), ("send_msg", JsonValueKind.Number), ("mailbox_len", JsonValueKind.Number),
        ("heap_size", JsonValueKind.Number), ("reductions", JsonValueKind.Number),
    ];

    [Test, CancelAfter(10_000)]
    public async Task List_ReportsAConnectedClient_FieldForField()
    {
        await using var api = new ApiHarness();
        PipeClient client = await ConnectFromAsync(api, "example", "test", "10.1.2.3", 64491, ProtocolVersion.V311, keepAlive: 60);
        await client.SubscribeAsync("a/b", QualityOfService.AtLeastOnce);

        JsonElement body = await api.GetAsync("/api/v4/clients?_page=1&_limit=10");

        Assert.That(body.GetProperty("code").GetInt32(), Is.Zero);
        Assert.That(body.GetProperty("meta").GetRawText(), Is.EqualTo("""{"page":1,"limit":10,"count":1,"hasnext":false}"""));
        JsonElement row = body.GetProperty("data")[0];
        using (Assert.EnterMultipleScope())
        {
            foreach ((string name, JsonValueKind kind) in s_clientFields)
            {
                Assert.That(row.TryGetProperty(name, out JsonElement value), Is.True, name);
                Assert.That(value.ValueKind, Is.EqualTo(kind), name);
            }

            Assert.That(row.TryGetProperty("disconnected_at", out _), Is.False, "only for disconnected clients");
            Assert.That(row.GetProperty("node").GetString(), Is.EqualTo("broker@127.0.0.1"));
            Assert.That(row.GetProperty("clientid").GetString(), Is.EqualTo("example"));
            Assert.That(row.GetProperty("username").GetString(), Is.EqualTo("test"));
            Assert.That(row.GetProperty("proto_name").GetString(), Is.EqualTo("MQTT"));
            Assert.That(row.GetProperty("proto_ver").GetInt32(), Is.EqualTo(4));
            Assert.That(row.GetProperty("ip_address").GetString(), Is.EqualTo("10.1.2.3"));
            Assert.That(row.GetProperty("port").GetInt32(), Is.EqualTo(64491));
            Assert.That(row.GetProperty("keepalive").GetInt32(), Is.EqualTo(60));
            Assert.That(row.GetProperty("zone").GetString(), Is.EqualTo("external"));
            Assert.That(row.GetProperty("subscriptions_cnt").GetInt32(), Is.EqualTo(1));
            Assert.That(row.GetProperty("recv_oct").GetInt64(), Is.Positive);
            Assert.That(row.GetProperty("created_at").GetString(), Does.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"));
        }
    }

    [Test, CancelAfter(10_000)]
    public async Task List_PagesInClientIdOrder_WithHasNext()
    {
        await using var api = new ApiHarness();
        for (int i = 0; i < 5; i++)
        {
            await api.ConnectAsync($"c{i}");
        }

        JsonElement page2 = await api.GetAsync("/api/v4/clients?_page=2&_limit=2");
        JsonElement page3 = await api.GetAsync("/api/v4/clients?_page=3&_limit=2");

        Assert.That(Ids(page2), Is.EqualTo(new[] { "c2", "c3" }));
        Assert.That(page2.GetProperty("meta").GetRawText(), Is.EqualTo("""{"page":2,"limit":2,"count":5,"hasnext":true}"""));
        Assert.That(Ids(page3), Is.EqualTo(new[] { "c4" }));
        Assert.That(page3.GetProperty("meta").GetProperty("hasnext").GetBoolean(), Is.False);
    }

    [TestCase("clientid=c1", new[] { "c1" })]
    [TestCase("clientid=c1&clientid=c3", new[] { "c1", "c3" }, TestName = "Repeated exact filter matches any value")]
    [TestCase("username=bob", new[] { "c2", "c3" })]
    [TestCase("_like_clientid=c", new[] { "c1", "c2", "c3" })]
    [TestCase("_like_username=o", new[] { "c2", "c3" })]
    [TestCase("_like_username=B", new string[0], TestName = "Like is case-sensitive")]
    [TestCase("proto_ver=5", new[] { "c1", "c2" })]
    [TestCase("proto_ver=4", new[] { "c3", "x4" })]
    [TestCase("proto_name=MQTT", new[] { "c1", "c2", "c3", "x4" })]
    [TestCase("ip_address=10.0.0.3", new[] { "c3" })]
    [TestCase("zone=external&conn_state=connected", new[] { "c1", "c2", "c3", "x4" })]
    [TestCase("conn_state=disconnected", new string[0])]
    [TestCase("clean_start=true", new[] { "c1", "c2", "c3", "x4" })]
    [TestCase("clean_start=false", new string[0])]
    [TestCase("_gte_created_at=1767225600", new[] { "c1", "c2", "c3", "x4" }, TestName = "Created at or after the start")]
    [TestCase("_lte_created_at=1767225599", new string[0], TestName = "Created before the start")]
    [TestCase("_gte_connected_at=1767225600&_lte_connected_at=1767225600", new[] { "c1", "c2", "c3", "x4" }, TestName = "Connected in a one-second range")]
    [TestCase("_gte_connected_at=1767225600000", new[] { "c1", "c2", "c3", "x4" }, TestName = "Milliseconds are accepted too")]
    [TestCase("unknown=1&clientid=x4", new[] { "x4" }, TestName = "Unknown parameters are ignored")]
    public async Task List_Filters_CountIsMinusOne(string query, string[] expected)
    {
        await using var api = new ApiHarness();
        await ConnectFromAsync(api, "c1", null, "10.0.0.1", 1000, ProtocolVersion.V500);
        await ConnectFromAsync(api, "c2", "bob", "10.0.0.2", 1000, ProtocolVersion.V500);
        await ConnectFromAsync(api, "c3", "bob", "10.0.0.3", 1000, ProtocolVersion.V311);
        await ConnectFromAsync(api, "x4", "alice", "10.0.0.4", 1000, ProtocolVersion.V311);

        JsonElement body = await api.GetAsync("/api/v4/clients?" + query);

        Assert.That(Ids(body), Is.EqualTo(expected));
        Assert.That(body.GetProperty("meta").GetProperty("count").GetInt32(), Is.EqualTo(-1));
    }

    [TestCase("proto_ver=five", TestName = "Integer filter")]
    [TestCase("_gte_created_at=yesterday", TestName = "Range filter")]
    public async Task List_FilterNotConvertible_IsCode108(string query)
    {
        await using var api = new ApiHarness();
        JsonElement body = await api.GetAsync("/api/v4/clients?" + query);

        Assert.That(body.GetProperty("code").GetInt32(), Is.EqualTo(108));
        Assert.That(body.GetProperty("message").GetString(), Does.StartWith("Can't convert"));
    }

    [Test, CancelAfter(10_000)]
    public async Task List_AwaySession_IsListedDisconnected()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.Test.ConnectPersistentAsync("away");
        await client.DisconnectAndWaitAsync();

        JsonElement body = await api.GetAsync("/api/v4/clients?conn_state=disconnected");

        Assert.That(Ids(body), Is.EqualTo(new[] { "away" }));
        Assert.That(body.GetProperty("data")[0].GetProperty("connected").GetBoolean(), Is.False);
    }

    [Test, CancelAfter(10_000)]
    public async Task Lookup_KnownAndUnknown()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("example", userName: "steve");

        JsonElement known = await api.GetAsync("/api/v4/clients/example");
        JsonElement unknown = await api.GetAsync("/api/v4/clients/nobody");
        JsonElement byUser = await api.GetAsync("/api/v4/clients/username/steve");
        JsonElement onNode = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/clients/example");
        JsonElement onNodeByUser = await api.GetAsync("/api/v4/nodes/broker@127.0.0.1/clients/username/steve");

        Assert.That(known.GetProperty("data")[0].GetProperty("clientid").GetString(), Is.EqualTo("example"));
        Assert.That(unknown.GetRawText(), Is.EqualTo("""{"code":0,"data":[]}"""));
        Assert.That(Ids(byUser), Is.EqualTo(new[] { "example" }));
        Assert.That(Ids(onNode), Is.EqualTo(new[] { "example" }));
        Assert.That(Ids(onNodeByUser), Is.EqualTo(new[] { "example" }));
    }

    [Test, CancelAfter(10_000)]
    public async Task Lookup_PercentEncodedClientId()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("a/b c");

        JsonElement body = await api.GetAsync("/api/v4/clients/a%2Fb%20c");

        Assert.That(Ids(body), Is.EqualTo(new[] { "a/b c" }));
    }

    [Test, CancelAfter(10_000)]
    public async Task Kick_DisconnectsTheClient_AndCountsKicked()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("victim");

        JsonElement body = await api.JsonAsync("DELETE", "/api/v4/clients/victim");

        Assert.That(body.GetRawText(), Is.EqualTo("""{"code":0}"""));
        await client.ExpectClosedWithAsync(ReasonCode.AdministrativeAction);
        Assert.That(api.Listener.ShutdownCounts["kicked"], Is.EqualTo(1));
        Assert.That((await api.GetAsync("/api/v4/clients/victim")).GetProperty("data").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Kick_Unknown_IsCode112()
    {
        await using var api = new ApiHarness();
        JsonElement body = await api.JsonAsync("DELETE", "/api/v4/clients/nobody");

        Assert.That(body.GetRawText(), Is.EqualTo("""{"code":112,"message":"not_found"}"""));
    }

    private static string[] Ids(JsonElement body)
        => [.. body.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("clientid").GetString()!)];

    private static async Task<PipeClient> ConnectFromAsync(ApiHarness api, string clientId, string? userName, string ip, int port, ProtocolVersion version, ushort keepAlive = 0)
    {
        var info = new ConnectionInfo { RemoteEndPoint = new IPEndPoint(IPAddress.Parse(ip), port), ListenerName = ApiHarness.PipeClientListener };
        var client = new PipeClient(api.Broker, version, info);
        api.Test.Track(client);
        var connect = new Broker.Core.Packets.ConnectPacket { ClientId = clientId, ProtocolVersion = version, UserName = userName, KeepAlive = keepAlive };
        Broker.Core.Packets.ConnAckPacket ack = await client.SendConnectAsync(connect);
        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Success));
        return client;
    }
}
