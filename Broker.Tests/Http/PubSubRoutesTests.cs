using System.Text.Json;
using Broker.Core.Protocol;
using Broker.Http;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Http;

[TestFixture]
public sealed class PubSubRoutesTests
{
    [Test, CancelAfter(10_000)]
    public async Task Publish_SpecExample_ReachesTheSubscriber()
    {
        await using var api = new ApiHarness();
        PipeClient subscriber = await api.ConnectAsync("sub");
        await subscriber.SubscribeAsync("a/b/c", QualityOfService.AtLeastOnce);

        JsonElement body = await api.JsonAsync("POST", "/api/v4/mqtt/publish", """{"topic":"a/b/c","payload":"Hello World","qos":1,"retain":false,"clientid":"example"}""");

        Assert.That(body.GetRawText(), Is.EqualTo("""{"code":0}"""));
        PublishModel message = await subscriber.ExpectPublishAsync("a/b/c", "Hello World");
        Assert.That(message.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
    }

    [Test, CancelAfter(10_000)]
    public async Task Publish_Topics_Base64_Retained()
    {
        await using var api = new ApiHarness();
        PipeClient subscriber = await api.ConnectAsync("sub");
        await subscriber.SubscribeAsync("t/#");
        string payload = Convert.ToBase64String([0, 1, 2, 255]);

        JsonElement body = await api.JsonAsync("POST", "/api/v4/mqtt/publish", $$"""{"topics":"t/1,t/+/bad,t/2","payload":"{{payload}}","encoding":"base64","retain":true}""");

        Assert.That(body.GetProperty("code").GetInt32(), Is.Zero);
        PublishModel first = await subscriber.ExpectPublishAsync("t/1");
        PublishModel second = await subscriber.ExpectPublishAsync("t/2");
        Assert.That(first.Payload, Is.EqualTo(new byte[] { 0, 1, 2, 255 }));
        Assert.That(second.Payload, Is.EqualTo(new byte[] { 0, 1, 2, 255 }));
        Assert.That(api.Broker.Retained.Count, Is.EqualTo(2), "retain: true stores both");
    }

    [Test, CancelAfter(10_000)]
    public async Task Publish_JsonObjectPayload_IsSentAsItsJsonText()
    {
        await using var api = new ApiHarness();
        PipeClient subscriber = await api.ConnectAsync("sub");
        await subscriber.SubscribeAsync("j");

        await api.JsonAsync("POST", "/api/v4/mqtt/publish", """{"topic":"j","payload":{"a":1}}""");

        await subscriber.ExpectPublishAsync("j", """{"a":1}""");
    }

    [Test]
    public async Task Publish_Return_GivesMessageIds()
    {
        await using var api = new ApiHarness();

        JsonElement one = await api.JsonAsync("POST", "/api/v4/mqtt/publish", """{"topic":"a","payload":"x","return":true}""");
        JsonElement many = await api.JsonAsync("POST", "/api/v4/mqtt/publish", """{"topics":"a,b","payload":"x","return":true}""");

        Assert.That(one.GetProperty("data").GetProperty("msgid").GetString(), Does.Match("^[0-9A-F]{32}$"));
        Assert.That(many.GetProperty("data").GetProperty("msgids").GetArrayLength(), Is.EqualTo(2));
    }

    [TestCase("""{"payload":"x"}""", 200, 115, TestName = "No topic")]
    [TestCase("""{"topic":"a/+","payload":"x"}""", 200, 115, TestName = "Wildcard in a topic name")]
    [TestCase("""{"topics":"#,+/x","payload":"x"}""", 200, 115, TestName = "No valid topic left")]
    [TestCase("""{"topic":"a","payload":"x","qos":3}""", 400, 116, TestName = "QoS out of range: clean 400 where EMQX crashes")]
    [TestCase("""{"topic":"a","payload":"x","qos":"high"}""", 200, 108, TestName = "QoS not a number")]
    [TestCase("""{"topic":"a","payload":"x","clientid":5}""", 200, 108, TestName = "Client id not a string")]
    [TestCase("""{"topic":"a","payload":"x","encoding":"hex"}""", 200, 108, TestName = "Unknown encoding")]
    [TestCase("""{"topic":"a","payload":"***","encoding":"base64"}""", 200, 108, TestName = "Payload not base64")]
    [TestCase("""{"topic":"a","payload":"x","retain":"yes"}""", 200, 108, TestName = "Retain not a boolean")]
    [TestCase("""{"topic":"a","payload":"x","properties":{"colour":"red"}}""", 200, 108, TestName = "Unknown property")]
    [TestCase("""{"topic":"a","payload":"x","properties":{"user_properties":[{"k":"v"}]}}""", 200, 108, TestName = "User properties as an array")]
    public async Task Publish_BadInput(string body, int status, int code)
    {
        await using var api = new ApiHarness();
        ApiResponse response = await api.SendAsync("POST", "/api/v4/mqtt/publish", body);

        Assert.That(response.Status, Is.EqualTo(status));
        using JsonDocument json = JsonDocument.Parse(response.Body);
        Assert.That(json.RootElement.GetProperty("code").GetInt32(), Is.EqualTo(code));
        Assert.That(json.RootElement.GetProperty("message").ValueKind, Is.EqualTo(JsonValueKind.String));
    }

    [Test, CancelAfter(10_000)]
    public async Task PublishBatch_SpecExample_ReportsEachItem()
    {
        await using var api = new ApiHarness();
        PipeClient subscriber = await api.ConnectAsync("sub");
        await subscriber.SubscribeAsync("a/b/c");

        JsonElement body = await api.JsonAsync("POST", "/api/v4/mqtt/publish_batch",
            """[{"topic":"a/b/c","payload":"Hello World","qos":1,"retain":false,"clientid":"example"},{"topic":"a/b/c","payload":"Hello World Again","qos":0,"retain":false,"clientid":"example"},{"topic":"bad/#","payload":"x"}]""");

        Assert.That(body.GetProperty("code").GetInt32(), Is.Zero);
        Assert.That(body.GetProperty("data").GetRawText(), Is.EqualTo("""[{"topic":"a/b/c","code":0},{"topic":"a/b/c","code":0},{"topic":"bad/#","code":115}]"""));
        await subscriber.ExpectPublishAsync("a/b/c", "Hello World");
        await subscriber.ExpectPublishAsync("a/b/c", "Hello World Again");
    }

    [Test]
    public async Task PublishBatch_NotAnArray_IsCode108()
    {
        await using var api = new ApiHarness();
        JsonElement body = await api.JsonAsync("POST", "/api/v4/mqtt/publish_batch", """{"topic":"a"}""");

        Assert.That(body.GetProperty("code").GetInt32(), Is.EqualTo(108));
    }

    [Test, CancelAfter(10_000)]
    public async Task Subscribe_SpecExample_TheClientReceives_ThenUnsubscribe()
    {
        await using var api = new ApiHarness();
        PipeClient client = await api.ConnectAsync("example");

        JsonElement subscribed = await api.JsonAsync("POST", "/api/v4/mqtt/subscribe", """{"topics":"a,b,c","qos":1,"clientid":"example"}""");

        Assert.That(subscribed.GetRawText(), Is.EqualTo("""{"code":0}"""));
        JsonElement subscriptions = await api.GetAsync("/api/v4/subscriptions/example");
        Assert.That(subscriptions.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("topic").GetString()), Is.EqualTo(new[] { "a", "b", "c" }));
        await api.JsonAsync("POST", "/api/v4/mqtt/publish", """{"topic":"b","payload":"hi"}""");
        await client.ExpectPublishAsync("b", "hi");

        JsonElement unsubscribed = await api.JsonAsync("POST", "/api/v4/mqtt/unsubscribe", """{"topic":"a","qos":1,"clientid":"example"}""");
        Assert.That(unsubscribed.GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That(api.Broker.GetSubscriptions("example").Select(s => s.Topic), Is.EquivalentTo(new[] { "b", "c" }));
    }

    [Test, CancelAfter(10_000)]
    public async Task SubscribeBatch_AndUnsubscribeBatch_SpecExamples()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("example");

        JsonElement subscribed = await api.JsonAsync("POST", "/api/v4/mqtt/subscribe_batch",
            """[{"topic":"a","qos":1,"clientid":"example"},{"topic":"b","qos":1,"clientid":"example"},{"topic":"c","qos":1,"clientid":"example"},{"topic":"d","qos":1,"clientid":"ghost"}]""");
        Assert.That(subscribed.GetProperty("data").GetRawText(), Is.EqualTo(
            """[{"clientid":"example","topic":"a","code":0},{"clientid":"example","topic":"b","code":0},{"clientid":"example","topic":"c","code":0},{"clientid":"ghost","topic":"d","code":112}]"""));
        Assert.That(api.Broker.GetSubscriptions("example"), Has.Count.EqualTo(3));

        await api.JsonAsync("POST", "/api/v4/mqtt/unsubscribe_batch", """[{"topic":"a","qos":1,"clientid":"example"},{"topic":"b","qos":1,"clientid":"example"}]""");
        Assert.That(api.Broker.GetSubscriptions("example").Select(s => s.Topic), Is.EqualTo(new[] { "c" }));
    }

    [TestCase("""{"topic":"a","clientid":"ghost"}""", 112, TestName = "Client not online")]
    [TestCase("""{"topic":"a"}""", 107, TestName = "No client id")]
    [TestCase("""{"topic":"a","clientid":7}""", 108, TestName = "Client id not a string")]
    [TestCase("""{"topic":"a/#/b","clientid":"c"}""", 115, TestName = "Invalid filter")]
    [TestCase("""{"topic":"a","clientid":"c","qos":5}""", 116, TestName = "Bad QoS")]
    public async Task Subscribe_BadInput(string body, int code)
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("c");

        JsonElement json = await api.JsonAsync("POST", "/api/v4/mqtt/subscribe", body);

        Assert.That(json.GetProperty("code").GetInt32(), Is.EqualTo(code));
    }

    [Test, CancelAfter(10_000)]
    public async Task Subscribe_SharedFilter_IsListedWithItsGroup()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("c");

        await api.JsonAsync("POST", "/api/v4/mqtt/subscribe", """{"topic":"$share/g1/x/y","clientid":"c"}""");

        JsonElement body = await api.GetAsync("/api/v4/subscriptions?share=g1");
        Assert.That(body.GetProperty("data")[0].GetProperty("topic").GetString(), Is.EqualTo("$share/g1/x/y"));
    }
}
