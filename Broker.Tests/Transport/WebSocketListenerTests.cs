using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Broker.Core.Protocol;
using Broker.Tests.EndToEnd;
using Broker.Tests.Http;
using Broker.Tests.TestSupport;
using Broker.Transport.Connections;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.Transport;

/// <summary>
/// MQTT over WebSocket (8083) and WebSocket over TLS (8084): MQTTnet clients, and raw frames for what a client library
/// will not do (a packet split across frames, two packets in one frame, text frames, malformed upgrades).
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class WebSocketListenerTests
{
    // 3.1.1 packets written out by hand: SUBSCRIBE a/b QoS 0 (id 1), its SUBACK, PUBLISH a/b "hi" QoS 0, CONNACK accepted.
    private static readonly byte[] s_subscribe = [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, (byte)'a', (byte)'/', (byte)'b', 0x00];
    private static readonly byte[] s_subAck = [0x90, 0x03, 0x00, 0x01, 0x00];
    private static readonly byte[] s_publish = [0x30, 0x07, 0x00, 0x03, (byte)'a', (byte)'/', (byte)'b', (byte)'h', (byte)'i'];
    private static readonly byte[] s_connAck = [0x20, 0x02, 0x00, 0x00];

    private TestCertificates _certificates = null!;

    [OneTimeSetUp]
    public void CreateCertificates() => _certificates = new TestCertificates();

    [OneTimeTearDown]
    public void DeleteCertificates() => _certificates.Dispose();

    [TestCase("0.0.0.0", 8083, "8083")]
    [TestCase("::", 8084, "8084")]
    [TestCase("127.0.0.1", 8083, "127.0.0.1:8083")]
    public void ListenOn_IsThePortAloneOnEveryAddress_AsEmqxReportsItsWsAndSslListeners(string address, int port, string expected)
        => Assert.That(StreamListener.FormatListenOnAddress(new IPEndPoint(IPAddress.Parse(address), port)), Is.EqualTo(expected));

    [TestCase(false)]
    [TestCase(true)]
    public async Task MqttNetWebSocketClient_ExchangesQoS0AndQoS1_WithATcpClient(bool secure, CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(
            o =>
            {
                if (secure)
                {
                    o.Tls.CertificateFile = _certificates.ServerCertFile;
                    o.Tls.KeyFile = _certificates.ServerKeyFile;
                }
            },
            cancellationToken);
        int port = TlsListenerTests.Port(secure ? server.Host.WssListener! : server.Host.WsListener!);
        string uri = (secure ? "wss" : "ws") + $"://127.0.0.1:{port}/mqtt";

        using NetClient web = await NetClient.ConnectWebSocketAsync(uri, "web", MqttProtocolVersion.V500, cancellationToken, b =>
        {
            if (secure)
            {
                b.WithTlsOptions(t => TlsListenerTests.Trusting(t));
            }
        });
        NetClient plain = await server.ConnectAsync("plain", cancellationToken, MqttProtocolVersion.V311);

        await web.SubscribeAsync("to/web", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await plain.SubscribeAsync("to/plain", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await plain.PublishAsync("to/web", new byte[100_000], MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await plain.PublishAsync("to/web", "q0", MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);
        await web.PublishAsync("to/plain", "q1 back", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await web.PublishAsync("to/plain", "q0 back", MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);

        ReceivedMessage large = await web.ReceiveAsync(cancellationToken);
        ReceivedMessage small = await web.ReceiveAsync(cancellationToken);
        ReceivedMessage back1 = await plain.ReceiveAsync(cancellationToken);
        ReceivedMessage back0 = await plain.ReceiveAsync(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((large.Payload.Length, large.QoS), Is.EqualTo((100_000, MqttQualityOfServiceLevel.AtLeastOnce)));
            Assert.That((small.PayloadText, small.QoS), Is.EqualTo(("q0", MqttQualityOfServiceLevel.AtMostOnce)));
            Assert.That((back1.PayloadText, back1.QoS), Is.EqualTo(("q1 back", MqttQualityOfServiceLevel.AtLeastOnce)));
            Assert.That((back0.PayloadText, back0.QoS), Is.EqualTo(("q0 back", MqttQualityOfServiceLevel.AtMostOnce)));
        }

        Broker.Transport.Connections.StreamListener listener = secure ? server.Host.WssListener! : server.Host.WsListener!;
        Assert.That(listener.CurrentConnections, Is.EqualTo(1));
        await web.DisconnectAsync(cancellationToken);
        await Poll.UntilAsync(
            () => listener.CurrentConnections == 0 && listener.ShutdownCount.Total == 1,
            () => $"current_conns {listener.CurrentConnections}, shutdown_count {{{string.Join(", ", listener.ShutdownCount.Snapshot().Select(r => $"{r.Key}: {r.Value}"))}}}",
            cancellationToken);
    }

    [Test]
    public async Task RawFrames_PacketSplitAcrossFrames_AndTwoPacketsInOneFrame(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        using ClientWebSocket socket = await ConnectAsync(server, "mqtt", cancellationToken);

        // CONNECT in three pieces: two fragments of one message, then a message of its own.
        byte[] connect = RawMqtt.Connect("raw-ws", ProtocolVersion.V311);
        await socket.SendAsync(connect.AsMemory(0, 3), WebSocketMessageType.Binary, endOfMessage: false, cancellationToken);
        await socket.SendAsync(connect.AsMemory(3, 5), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        await socket.SendAsync(connect.AsMemory(8), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        Assert.That(await ReceiveBytesAsync(socket, s_connAck.Length, cancellationToken), Is.EqualTo(s_connAck));

        // SUBSCRIBE and PUBLISH in one frame: the SUBACK, then our own message back.
        await socket.SendAsync(s_subscribe.Concat(s_publish).ToArray(), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        Assert.That(await ReceiveBytesAsync(socket, s_subAck.Length + s_publish.Length, cancellationToken), Is.EqualTo(s_subAck.Concat(s_publish).ToArray()));
        Assert.That(socket.SubProtocol, Is.EqualTo("mqtt"));
    }

    [Test]
    public async Task TextFrame_ClosesTheConnection(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        using ClientWebSocket socket = await ConnectAsync(server, "mqtt", cancellationToken);
        await socket.SendAsync(RawMqtt.Connect("texter", ProtocolVersion.V311), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        Assert.That(await ReceiveBytesAsync(socket, s_connAck.Length, cancellationToken), Is.EqualTo(s_connAck));

        await socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

        WebSocketReceiveResult result = await socket.ReceiveAsync(new byte[64], cancellationToken);
        Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Close));
        Assert.That(result.CloseStatus, Is.EqualTo(WebSocketCloseStatus.InvalidMessageType));
        await Poll.UntilAsync(() => server.Host.WsListener!.ShutdownCount[ShutdownReasons.UnexpectedWebSocketFrame] == 1, cancellationToken);
    }

    // Each row: a request, the status cowboy/EMQX would answer.
    [TestCase("GET /other HTTP/1.1", "Sec-WebSocket-Protocol: mqtt", 404, TestName = "WrongPath_404")]
    [TestCase("GET /mqtt HTTP/1.1", null, 400, TestName = "NoSubprotocol_400")]
    [TestCase("GET /mqtt HTTP/1.1", "Sec-WebSocket-Protocol: chat, superchat", 400, TestName = "UnsupportedSubprotocol_400")]
    [TestCase("POST /mqtt HTTP/1.1", "Sec-WebSocket-Protocol: mqtt", 405, TestName = "Post_405")]
    [TestCase("GET /mqtt HTTP/1.0", "Sec-WebSocket-Protocol: mqtt", 400, TestName = "Http10_400")]
    [TestCase("GET /mqtt HTTP/1.1", "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 8", 426, TestName = "Version8_426")]
    [TestCase("GET /mqtt HTTP/1.1", "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Key: short", 400, TestName = "BadKey_400")]
    [TestCase("GET /mqtt HTTP/1.1", "Sec-WebSocket-Protocol: mqtt\r\nBroken header line", 400, TestName = "HeaderWithoutColon_400")]
    [TestCase("GARBAGE", null, 400, TestName = "NotHttp_400")]
    public async Task MalformedUpgrade_IsRefused_AndOtherClientsCarryOn(string requestLine, string? extraHeaders, int expected, CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        using ClientWebSocket good = await ConnectAsync(server, "mqtt", cancellationToken);
        await good.SendAsync(RawMqtt.Connect("good", ProtocolVersion.V311), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        Assert.That(await ReceiveBytesAsync(good, s_connAck.Length, cancellationToken), Is.EqualTo(s_connAck));

        bool versioned = extraHeaders?.Contains("Version", StringComparison.Ordinal) == true;
        bool keyed = extraHeaders?.Contains("Key", StringComparison.Ordinal) == true;
        string request = requestLine + "\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (keyed ? string.Empty : "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
            + (versioned ? string.Empty : "Sec-WebSocket-Version: 13\r\n")
            + (extraHeaders is null ? string.Empty : extraHeaders + "\r\n") + "\r\n";
        (int status, bool closed) = await RawRequestAsync(TlsListenerTests.Port(server.Host.WsListener!), Encoding.ASCII.GetBytes(request), cancellationToken);

        Assert.That(status, Is.EqualTo(expected));
        Assert.That(closed, Is.True, "a refused upgrade closes the connection");
        await good.SendAsync(s_subscribe.Concat(s_publish).ToArray(), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        Assert.That(await ReceiveBytesAsync(good, s_subAck.Length + s_publish.Length, cancellationToken), Is.EqualTo(s_subAck.Concat(s_publish).ToArray()));
        await Poll.UntilAsync(() => server.Host.WsListener!.ShutdownCount[ShutdownReasons.BadRequest] == 1, cancellationToken);
    }

    [Test]
    public async Task OversizedUpgrade_Gets431(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(cancellationToken: cancellationToken);
        string request = "GET /mqtt HTTP/1.1\r\nX-Filler: " + new string('x', 20_000) + "\r\n\r\n";

        (int status, bool closed) = await RawRequestAsync(TlsListenerTests.Port(server.Host.WsListener!), Encoding.ASCII.GetBytes(request), cancellationToken);

        Assert.That((status, closed), Is.EqualTo((431, true)));
    }

    [Test]
    public async Task NoSubprotocol_Accepted_WhenNotRequired_AndOldSubprotocolNamesAreChosen(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(o => o.WebSocket.FailIfNoSubprotocol = false, cancellationToken);

        using ClientWebSocket without = await ConnectAsync(server, null, cancellationToken);
        using ClientWebSocket legacy = await ConnectAsync(server, "mqttv3.1", cancellationToken);

        Assert.That(without.SubProtocol, Is.Null);
        Assert.That(legacy.SubProtocol, Is.EqualTo("mqttv3.1"));
        await without.SendAsync(RawMqtt.Connect("bare", ProtocolVersion.V311), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        Assert.That(await ReceiveBytesAsync(without, s_connAck.Length, cancellationToken), Is.EqualTo(s_connAck));
    }

    [Test]
    public async Task MaxConnections_RefusesTheExtraClient_AndCountsDownOnClose(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(o => o.MqttWs.MaxConnections = 1, cancellationToken);
        int port = TlsListenerTests.Port(server.Host.WsListener!);
        using ClientWebSocket first = await ConnectAsync(server, "mqtt", cancellationToken);

        using var second = new ClientWebSocket();
        second.Options.AddSubProtocol("mqtt");
        Assert.That(async () => await second.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/mqtt"), cancellationToken), Throws.InstanceOf<WebSocketException>());
        System.Text.Json.JsonElement ws = await TlsListenerTests.ListenerAsync(server, $"mqtt:ws:{port}", cancellationToken);
        Assert.That((ws.GetProperty("current_conns").GetInt32(), ws.GetProperty("max_conns").GetInt32()), Is.EqualTo((1, 1)));
        Assert.That(ws.GetProperty("shutdown_count").GetProperty("maxlimit").GetInt64(), Is.GreaterThanOrEqualTo(1), "refused as the TCP listener refuses: counted as maxlimit (the client retries its upgrade on a closed connection)");

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
        await Poll.UntilAsync(() => server.Host.WsListener!.CurrentConnections == 0, cancellationToken);
        using ClientWebSocket third = await ConnectAsync(server, "mqtt", cancellationToken);
        Assert.That(third.State, Is.EqualTo(WebSocketState.Open));
    }

    private static async Task<ClientWebSocket> ConnectAsync(ServerApi server, string? subprotocol, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{TlsListenerTests.Port(server.Host.WsListener!)}/mqtt"), cancellationToken);
        return socket;
    }

    /// <summary>Reads binary messages until <paramref name="count"/> bytes have come, however the server framed them.</summary>
    private static async Task<byte[]> ReceiveBytesAsync(WebSocket socket, int count, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[count];
        int received = 0;
        while (received < count)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(received), cancellationToken);
            Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Binary));
            received += result.Count;
        }

        return buffer;
    }

    /// <summary>Sends raw bytes, reads the HTTP status and waits for the server to close.</summary>
    private static async Task<(int Status, bool Closed)> RawRequestAsync(int port, byte[] request, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        NetworkStream stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, cancellationToken);
        }
        catch (IOException)
        {
            // The server answered and closed before reading all of an oversized request.
        }

        var response = new MemoryStream();
        byte[] buffer = new byte[1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                response.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // A reset after the answer still closes.
        }

        string text = Encoding.ASCII.GetString(response.ToArray());
        Assert.That(text, Does.StartWith("HTTP/1.1 "), text);
        return (int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), true);
    }
}
