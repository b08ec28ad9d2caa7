using System.Net;
using System.Text.Json;
using Broker.Tests.EndToEnd;
using Broker.Tests.TestSupport;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.Http;

/// <summary>What a user sees: MQTTnet clients on the broker's TCP listener, the API over HTTP.</summary>
[TestFixture]
public sealed class EndToEndApiTests
{
    [Test, CancelAfter(30_000)]
    public async Task Publish_ReachesAnMqttSubscriber_WithItsProperties(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        NetClient subscriber = await server.ConnectAsync("sub", cancellationToken);
        await subscriber.SubscribeAsync("a/b/c", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

        JsonElement body = await server.PostAsync("/api/mqtt/publish",
            """{"topic":"a/b/c","payload":"Hello World","qos":1,"retain":false,"clientid":"example","properties":{"content_type":"text/plain","user_properties":{"k":"v","n":1}}}""",
            cancellationToken);

        Assert.That(body.GetRawText(), Is.EqualTo("""{"code":0}"""));
        ReceivedMessage message = await subscriber.ReceiveAsync("a/b/c", cancellationToken);
        Assert.That(message.PayloadText, Is.EqualTo("Hello World"));
        Assert.That(message.QoS, Is.EqualTo(MqttQualityOfServiceLevel.AtLeastOnce));
        Assert.That(message.ContentType, Is.EqualTo("text/plain"));
        Assert.That(message.UserProperties, Is.EqualTo(new[] { new KeyValuePair<string, string>("k", "v"), new KeyValuePair<string, string>("n", "1") }));
    }

    [Test, CancelAfter(30_000)]
    public async Task Delete_DisconnectsTheClient_AndCountsKickedOnItsListener(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        NetClient client = await server.ConnectAsync("example", cancellationToken);
        JsonElement listed = await server.GetAsync("/api/v4/clients/example", cancellationToken);
        Assert.That(listed.GetProperty("data")[0].GetProperty("ip_address").GetString(), Is.EqualTo("127.0.0.1"));

        (HttpStatusCode status, JsonElement body) = await server.SendAsync(HttpMethod.Delete, "/api/v4/clients/example", null, cancellationToken);

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.GetRawText(), Is.EqualTo("""{"code":0}"""));
        MQTTnet.MqttClientDisconnectedEventArgs disconnected = await client.Disconnected.WaitAsync(cancellationToken);
        Assert.That(disconnected.Reason, Is.EqualTo(MQTTnet.MqttClientDisconnectReason.AdministrativeAction));
        await Poll.UntilAsync(() => server.Host.MqttListener.CurrentConnections == 0, cancellationToken);

        JsonElement listeners = await server.GetAsync("/api/v4/listeners", cancellationToken);
        JsonElement mqtt = listeners.GetProperty("data")[0].GetProperty("listeners").EnumerateArray().First(l => l.GetProperty("protocol").GetString() == "mqtt:tcp");
        Assert.That(mqtt.GetProperty("shutdown_count").GetProperty("kicked").GetInt64(), Is.EqualTo(1));
        Assert.That(mqtt.GetProperty("current_conns").GetInt32(), Is.Zero);
        Assert.That(listeners.GetProperty("data")[0].GetProperty("listeners").EnumerateArray().Select(l => l.GetProperty("protocol").GetString()), Does.Contain("http:management"));
        Assert.That((await server.GetAsync("/api/v4/clients", cancellationToken)).GetProperty("data").GetArrayLength(), Is.Zero);
    }

    [Test, CancelAfter(30_000)]
    public async Task Subscribe_MakesAConnectedClientReceive(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        NetClient client = await server.ConnectAsync("example", cancellationToken, MqttProtocolVersion.V311);
        NetClient publisher = await server.ConnectAsync("pub", cancellationToken);

        JsonElement body = await server.PostAsync("/api/v4/mqtt/subscribe", """{"topics":"a,b,c","qos":1,"clientid":"example"}""", cancellationToken);
        Assert.That(body.GetRawText(), Is.EqualTo("""{"code":0}"""));

        await publisher.PublishAsync("b", "over mqtt", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        ReceivedMessage message = await client.ReceiveAsync("b", cancellationToken);
        Assert.That(message.PayloadText, Is.EqualTo("over mqtt"));

        JsonElement subscriptions = await server.GetAsync("/api/v4/subscriptions?clientid=example", cancellationToken);
        Assert.That(subscriptions.GetProperty("data").GetArrayLength(), Is.EqualTo(3));
        Assert.That(subscriptions.GetProperty("meta").GetProperty("count").GetInt32(), Is.EqualTo(-1));
    }

    [Test, CancelAfter(30_000)]
    public async Task V3_PublishWithClientId_AndConnectionsList(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        NetClient subscriber = await server.ConnectAsync("mqttjs_ab9069449e", cancellationToken);
        await subscriber.SubscribeAsync("test_topic", MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);

        JsonElement published = await server.PostAsync("/api/v3/mqtt/publish", """{"topic":"test_topic","payload":"hello","qos":1,"retain":false,"client_id":"mqttjs_ab9069449e"}""", cancellationToken);
        JsonElement connections = await server.GetAsync("/api/v3/connections/?_page=1&_limit=10000", cancellationToken);

        Assert.That(published.GetRawText(), Is.EqualTo("""{"code":0}"""));
        Assert.That((await subscriber.ReceiveAsync("test_topic", cancellationToken)).PayloadText, Is.EqualTo("hello"));
        Assert.That(connections.GetProperty("items")[0].GetProperty("client_id").GetString(), Is.EqualTo("mqttjs_ab9069449e"));
        Assert.That(connections.GetProperty("meta").GetRawText(), Is.EqualTo("""{"page":1,"limit":10000,"count":1}"""));
    }
}
