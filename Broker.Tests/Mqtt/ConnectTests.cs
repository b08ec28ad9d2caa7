using System.Text;
using Broker.Core;
using Broker.Core.Codec;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>CONNECT validation, the v5 CONNACK properties and keep alive, as a client sees them on the wire.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ConnectTests
{
    /// <summary>A CONNECT built by hand, so the protocol name and level can be anything: keep alive 60, clean start.</summary>
    private static byte[] RawConnect(string protocolName, byte level, string clientId = "c")
    {
        byte[] name = Encoding.ASCII.GetBytes(protocolName);
        byte[] id = Encoding.UTF8.GetBytes(clientId);
        byte[] properties = level == 5 ? [0x00] : [];
        return PacketBuilder.Frame(0x10, [0x00, (byte)name.Length], name, [level, 0x02, 0x00, 0x3C], properties, [0x00, (byte)id.Length], id);
    }

    private static ConnectPacket Connect(ProtocolVersion version, string clientId, bool cleanStart = true) => new()
    {
        ProtocolName = version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT",
        ProtocolVersion = version,
        ClientId = clientId,
        CleanStart = cleanStart,
    };

    /// <summary>The broker must close without sending anything (3.1/3.1.1 protocol errors, or before CONNECT).</summary>
    private static async Task ExpectSilentCloseAsync(PipeClient client)
    {
        Assert.That(await client.ReceiveAsync(), Is.Null, "the broker closes without a packet");
        await client.Served.WaitAsync(PipeClient.ReceiveTimeout);
    }

    // [MQTT-3.1.2-2] An unsupported level: the v3 form (0x01), which every client version can read.
    [TestCase("MQTT", (byte)6)]
    [TestCase("MQTT", (byte)3)]
    [TestCase("MQTT", (byte)0)]
    // 'MQIsdp' is only valid with level 3.
    [TestCase("MQIsdp", (byte)4)]
    // [MQTT-3.1.2-1] A wrong protocol name.
    [TestCase("MQTX", (byte)4)]
    [TestCase("mqtt", (byte)4)]
    [TestCase("MQIsdp1", (byte)3)]
    public async Task UnsupportedProtocol_V3Client_ConnAck0x01ThenClose(string protocolName, byte level)
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(ProtocolVersion.V311);

        await client.SendAsync(RawConnect(protocolName, level));

        ConnAckPacket ack = await client.ExpectAsync<ConnAckPacket>();
        Assert.That(ack.ReturnCode, Is.EqualTo((byte)ConnectReturnCode.UnacceptableProtocolVersion));
        Assert.That(ack.SessionPresent, Is.False);
        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    // A client that says level 5 reads a v5 CONNACK, so it gets 0x84 in that form.
    [TestCase("MQIsdp")]
    [TestCase("MQTX")]
    public async Task WrongProtocolName_Level5_V5ConnAck0x84ThenClose(string protocolName)
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(ProtocolVersion.V500);

        await client.SendAsync(RawConnect(protocolName, 5));

        ConnAckPacket ack = await client.ExpectAsync<ConnAckPacket>();
        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.UnsupportedProtocolVersion));
        await ExpectSilentCloseAsync(client);
    }

    // [MQTT-4.13.1-1] A malformed or forbidden v5 CONNECT may be answered with a CONNACK carrying the reason code.
    // Receive Maximum 0 is a Protocol Error [MQTT-3.1.2.11.3].
    [TestCase("21 00 00", ReasonCode.ProtocolError)]
    // Maximum Packet Size 0 is a Protocol Error [MQTT-3.1.2.11.4].
    [TestCase("27 00 00 00 00", ReasonCode.ProtocolError)]
    // Property 0x01 (Payload Format Indicator) does not belong in CONNECT.
    [TestCase("01 00", ReasonCode.MalformedPacket)]
    public async Task MalformedConnect_V5_ConnAckWithReasonThenClose(string properties, ReasonCode expected)
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(ProtocolVersion.V500);

        await client.SendAsync(PacketBuilder.WithProperties(PropertyContext.Connect, properties));

        ConnAckPacket ack = await client.ExpectAsync<ConnAckPacket>();
        Assert.That(ack.ReasonCode, Is.EqualTo(expected));
        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    // [MQTT-3.1.2-3] The reserved flag set: a 3.1.1 client has no code for it, so the connection just closes.
    [Test]
    public async Task MalformedConnect_V311_Closes()
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(ProtocolVersion.V311);

        await client.SendAsync(PacketBuilder.Frame(0x10, Hex.Parse("00 04 'MQTT' 04 03 00 3C 00 01 'c'")));

        await ExpectSilentCloseAsync(client);
    }

    [Test]
    public async Task ValidRawConnect_EachVersion_Accepted()
    {
        await using var broker = new TestBroker();
        foreach ((string name, byte level, ProtocolVersion version) in new[] { ("MQIsdp", (byte)3, ProtocolVersion.V310), ("MQTT", (byte)4, ProtocolVersion.V311), ("MQTT", (byte)5, ProtocolVersion.V500) })
        {
            PipeClient client = broker.Open(version);
            await client.SendAsync(RawConnect(name, level, $"c{level}"));
            ConnAckPacket ack = await client.ExpectAsync<ConnAckPacket>();
            Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Success), name);
        }
    }

    // [MQTT-3.1.0-1] The first packet must be CONNECT: the connection is closed, with no CONNACK.
    [TestCase(ProtocolVersion.V311, "C0 00")]
    [TestCase(ProtocolVersion.V311, "30 05 00 01 'a' 'hi'")]
    [TestCase(ProtocolVersion.V500, "82 06 00 01 00 01 'a' 00")]
    [TestCase(ProtocolVersion.V500, "E0 00")]
    public async Task FirstPacketNotConnect_Closes(ProtocolVersion version, string packet)
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(version);

        await client.SendAsync(Hex.Parse(packet));

        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    // [MQTT-3.1.0-2] A second CONNECT is a protocol error.
    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    public async Task SecondConnect_V3_Closes(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version);

        await client.SendAsync(Connect(version, "c"));

        await ExpectSilentCloseAsync(client);
    }

    [Test]
    public async Task SecondConnect_V5_Disconnect0x82()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c");

        await client.SendAsync(Connect(ProtocolVersion.V500, "c"));

        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
    }

    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task ClientIdAtMaximumLength_Accepted(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumClientIdLength = 23);
        PipeClient client = await broker.ConnectAsync(new string('x', 23), version);

        Assert.That(client.ConnAck!.ReasonCode, Is.EqualTo(ReasonCode.Success));
    }

    // max_clientid_len counts bytes, as EMQX does: 12 'é' are 24 UTF-8 bytes.
    [TestCase(ProtocolVersion.V310, "xxxxxxxxxxxxxxxxxxxxxxxx")]
    [TestCase(ProtocolVersion.V311, "xxxxxxxxxxxxxxxxxxxxxxxx")]
    [TestCase(ProtocolVersion.V500, "xxxxxxxxxxxxxxxxxxxxxxxx")]
    [TestCase(ProtocolVersion.V311, "éééééééééééé")]
    [TestCase(ProtocolVersion.V500, "éééééééééééé")]
    public async Task ClientIdTooLong_Refused(ProtocolVersion version, string clientId)
    {
        await using var broker = new TestBroker(o => o.MaximumClientIdLength = 23);
        PipeClient client = broker.Open(version);

        ConnAckPacket ack = await client.SendConnectAsync(Connect(version, clientId));

        AssertRefused(ack, version, ConnectReturnCode.IdentifierRejected, ReasonCode.ClientIdentifierNotValid);
        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsConnackError), Is.EqualTo(1));
    }

    // [MQTT-3.1.3-7] 3.1.1 assigns an id to an empty one with Clean Session.
    [Test]
    public async Task EmptyClientId_V311CleanSession_Accepted()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("", ProtocolVersion.V311);

        Assert.That(client.ConnAck!.SessionPresent, Is.False);
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(1));
        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
    }

    // [MQTT-3.1.3-8] 3.1.1 without Clean Session, and 3.1 always, refuse an empty id with 0x02.
    [TestCase(ProtocolVersion.V311, false)]
    [TestCase(ProtocolVersion.V310, true)]
    [TestCase(ProtocolVersion.V310, false)]
    public async Task EmptyClientId_Refused0x02(ProtocolVersion version, bool cleanSession)
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(version);

        ConnAckPacket ack = await client.SendConnectAsync(Connect(version, "", cleanSession));

        Assert.That(ack.ReturnCode, Is.EqualTo((byte)ConnectReturnCode.IdentifierRejected));
        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    // [MQTT-3.1.3-6], [MQTT-3.2.2-16] v5 gets an Assigned Client Identifier, unique per connection.
    [TestCase(true)]
    [TestCase(false)]
    public async Task EmptyClientId_V5_AssignedClientIdentifier(bool cleanStart)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("", cleanStart: cleanStart);
        PipeClient second = await broker.ConnectAsync("", cleanStart: cleanStart);

        string? id1 = first.ConnAck!.Properties?.AssignedClientIdentifier;
        string? id2 = second.ConnAck!.Properties?.AssignedClientIdentifier;
        Assert.That(id1, Is.Not.Null.And.Not.Empty);
        Assert.That(id2, Is.Not.Null.And.Not.Empty.And.Not.EqualTo(id1));
        Assert.That(first.ConnAck.SessionPresent, Is.False);
        Assert.That(broker.Broker.Sessions.Find(id1!)?.IsConnected, Is.True);
        Assert.That(broker.Broker.Sessions.Find(id2!)?.IsConnected, Is.True);
    }

    [Test]
    public async Task NonEmptyClientId_V5_NoAssignedClientIdentifier()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("mine");

        Assert.That(client.ConnAck!.Properties?.AssignedClientIdentifier, Is.Null);
    }

    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task AnonymousNotAllowed_NoUserName_NotAuthorized(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        PipeClient client = broker.Open(version);

        ConnAckPacket ack = await client.SendConnectAsync(Connect(version, "c"));

        AssertRefused(ack, version, ConnectReturnCode.NotAuthorized, ReasonCode.NotAuthorized);
        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsConnackAuthError), Is.EqualTo(1));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task AnonymousNotAllowed_KnownUser_Accepted(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(Broker.Core.Security.UserKind.Username, "user", "secret");
        PipeClient client = await broker.ConnectAsync("c", version, configure: c =>
        {
            c.UserName = "user";
            c.Password = "secret"u8.ToArray();
        });

        Assert.That(client.ConnAck!.ReasonCode, Is.EqualTo(ReasonCode.Success));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthAnonymous), Is.Zero);
    }

    // A refused CONNECT must not take over the session of a live client with the same id.
    [Test]
    public async Task RefusedConnect_DoesNotTakeOverExistingClient()
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(Broker.Core.Security.UserKind.Username, "user", string.Empty);
        PipeClient owner = await broker.ConnectAsync("c", configure: c => c.UserName = "user");
        PipeClient intruder = broker.Open(ProtocolVersion.V500);

        ConnAckPacket ack = await intruder.SendConnectAsync(Connect(ProtocolVersion.V500, "c"));

        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.NotAuthorized));
        await ExpectSilentCloseAsync(intruder);
        await ExpectPingRespAsync(owner);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.Zero);
    }

    // A transport's token (a listener closing its connections) ends exactly the connections it was given, with no
    // DISCONNECT, as when the transport goes away; connections served with another token go on.
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task TransportToken_Cancelled_ClosesOnlyItsConnections(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        using var closing = new CancellationTokenSource();
        using var other = new CancellationTokenSource();
        await using var first = new PipeClient(broker.Broker, version, new ConnectionInfo(), closing.Token);
        await using var second = new PipeClient(broker.Broker, version, new ConnectionInfo(), closing.Token);
        await using var unrelated = new PipeClient(broker.Broker, version, new ConnectionInfo(), other.Token);
        foreach ((PipeClient client, string id) in new[] { (first, "a"), (second, "b"), (unrelated, "c") })
        {
            Assert.That((await client.SendConnectAsync(Connect(version, id))).ReasonCode, Is.EqualTo(ReasonCode.Success));
        }

        await closing.CancelAsync();

        Assert.That(await first.ExpectClosedAsync(), Is.Null, "no DISCONNECT");
        Assert.That(await second.ExpectClosedAsync(), Is.Null, "no DISCONNECT");
        await unrelated.PingAsync();
        Assert.That(broker.Broker.Disconnects.Get(DisconnectReason.ServerShutdown), Is.EqualTo(2));
    }

    // A connection handed over with a token that is already cancelled is closed before anything is answered.
    [Test]
    public async Task TransportToken_AlreadyCancelled_ClosesAtOnce()
    {
        await using var broker = new TestBroker();
        await using var client = new PipeClient(broker.Broker, ProtocolVersion.V500, new ConnectionInfo(), new CancellationToken(canceled: true));

        await client.SendAsync(CodecDriver.Encode(output => PacketEncoder.WriteConnect(output, Connect(ProtocolVersion.V500, "c"))));

        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    // Once every connection given a token has ended, cancelling it touches nothing (its registration is gone).
    [Test]
    public async Task TransportToken_CancelledAfterItsConnectionsEnded_LeavesOthersOpen()
    {
        await using var broker = new TestBroker();
        using var closing = new CancellationTokenSource();
        var gone = new PipeClient(broker.Broker, ProtocolVersion.V500, new ConnectionInfo(), closing.Token);
        Assert.That((await gone.SendConnectAsync(Connect(ProtocolVersion.V500, "gone"))).ReasonCode, Is.EqualTo(ReasonCode.Success));
        await gone.DisconnectAsync();
        await gone.Served.WaitAsync(PipeClient.ReceiveTimeout);
        await gone.DisposeAsync();
        PipeClient stays = await broker.ConnectAsync("stays");

        await closing.CancelAsync();

        await stays.PingAsync();
        Assert.That(broker.Broker.Disconnects.Get(DisconnectReason.ServerShutdown), Is.Zero);
    }

    // Enhanced authentication (AUTH) is not offered [MQTT-3.1.2.11.9]: 0x8C Bad Authentication Method.
    [Test]
    public async Task AuthenticationMethod_V5_BadAuthenticationMethod()
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(ProtocolVersion.V500);
        ConnectPacket connect = Connect(ProtocolVersion.V500, "c");
        connect.Properties = new MqttProperties { AuthenticationMethod = "SCRAM-SHA-1" };

        ConnAckPacket ack = await client.SendConnectAsync(connect);

        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.BadAuthenticationMethod));
        await ExpectSilentCloseAsync(client);
    }

    // Shutting the broker down closes every connection; v5 clients hear 0x8B Server Shutting Down first.
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task BrokerShutdown_ClosesConnections(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version);

        await broker.Broker.DisposeAsync();

        await client.ExpectClosedWithAsync(ReasonCode.ServerShuttingDown);
    }

    // idle_timeout: a connection that never sends CONNECT is closed after it, without a packet.
    [Test]
    public async Task NoConnectWithinIdleTimeout_Closed()
    {
        await using var broker = new TestBroker(o => o.ConnectTimeout = TimeSpan.FromSeconds(10));
        PipeClient client = broker.Open(ProtocolVersion.V500);
        await WaitForConnectionsAsync(broker, 1);

        broker.Advance(TimeSpan.FromSeconds(11));

        await ExpectSilentCloseAsync(client);
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.Zero);
    }

    [Test]
    public async Task ConnectJustBeforeIdleTimeout_Accepted()
    {
        await using var broker = new TestBroker(o => o.ConnectTimeout = TimeSpan.FromSeconds(10));
        PipeClient client = broker.Open(ProtocolVersion.V500);
        await WaitForConnectionsAsync(broker, 1);

        broker.Advance(TimeSpan.FromSeconds(9));
        ConnAckPacket ack = await client.SendConnectAsync(Connect(ProtocolVersion.V500, "late"));

        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Success));
        broker.Advance(TimeSpan.FromSeconds(5));
        await client.SendAsync(PacketType.PingReq);
        Assert.That(await client.ReceiveAsync(), Is.EqualTo(PacketType.PingResp), "the idle timeout no longer applies once connected");
    }

    [Test]
    public async Task ConnAck_V5_DefaultProperties()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c");

        MqttProperties? p = client.ConnAck!.Properties;
        Assert.That(p, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(p!.ReceiveMaximum, Is.EqualTo((ushort)broker.Broker.Options.MaximumAwaitingRel));
            // [MQTT-3.2.2-9] Maximum QoS 2 is never sent; absent means 2.
            Assert.That(p.MaximumQoS, Is.Null);
            Assert.That(p.RetainAvailable, Is.Null.Or.EqualTo((byte)1));
            Assert.That(p.MaximumPacketSize, Is.EqualTo((uint)(1024 * 1024)));
            Assert.That(p.TopicAliasMaximum, Is.EqualTo((ushort)65535));
            Assert.That(p.WildcardSubscriptionAvailable, Is.Null.Or.EqualTo((byte)1));
            Assert.That(p.SubscriptionIdentifierAvailable, Is.Null.Or.EqualTo((byte)1));
            Assert.That(p.SharedSubscriptionAvailable, Is.Null.Or.EqualTo((byte)1));
            Assert.That(p.ServerKeepAlive, Is.Null);
            Assert.That(p.SessionExpiryInterval, Is.Null);
        });
    }

    [Test]
    public async Task ConnAck_V5_PropertiesFollowOptions()
    {
        await using var broker = new TestBroker(o =>
        {
            o.MaximumAwaitingRel = 7;
            o.MaximumQoS = QualityOfService.AtLeastOnce;
            o.RetainAvailable = false;
            o.MaximumPacketSize = 4096;
            o.MaximumTopicAlias = 10;
            o.WildcardSubscriptionAvailable = false;
            o.SubscriptionIdentifierAvailable = false;
            o.SharedSubscriptionAvailable = false;
        });
        PipeClient client = await broker.ConnectAsync("c");

        MqttProperties p = client.ConnAck!.Properties!;
        Assert.Multiple(() =>
        {
            Assert.That(p.ReceiveMaximum, Is.EqualTo((ushort)7));
            Assert.That(p.MaximumQoS, Is.EqualTo((byte)1));
            Assert.That(p.RetainAvailable, Is.EqualTo((byte)0));
            Assert.That(p.MaximumPacketSize, Is.EqualTo(4096u));
            Assert.That(p.TopicAliasMaximum, Is.EqualTo((ushort)10));
            Assert.That(p.WildcardSubscriptionAvailable, Is.EqualTo((byte)0));
            Assert.That(p.SubscriptionIdentifierAvailable, Is.EqualTo((byte)0));
            Assert.That(p.SharedSubscriptionAvailable, Is.EqualTo((byte)0));
        });
    }

    [Test]
    public async Task ConnAck_V5_MaximumQoS0()
    {
        await using var broker = new TestBroker(o => o.MaximumQoS = QualityOfService.AtMostOnce);
        PipeClient client = await broker.ConnectAsync("c");

        Assert.That(client.ConnAck!.Properties!.MaximumQoS, Is.EqualTo((byte)0));
    }

    [Test]
    public async Task ConnAck_V311_NoSessionPresentOnNewSession()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", ProtocolVersion.V311, cleanStart: false);

        Assert.That(client.ConnAck!.SessionPresent, Is.False);
        Assert.That(client.ConnAck.Properties, Is.Null);
    }

    // server_keepalive overrides the client's keep alive [MQTT-3.2.2-21].
    [TestCase((ushort)60, (ushort)30)]
    [TestCase((ushort)0, (ushort)30)]
    [TestCase((ushort)10, (ushort)30)]
    public async Task ServerKeepAlive_SentAndEnforced(ushort clientKeepAlive, ushort serverKeepAlive)
    {
        await using var broker = new TestBroker(o => o.ServerKeepAlive = serverKeepAlive);
        PipeClient client = await broker.ConnectAsync("c", configure: c => c.KeepAlive = clientKeepAlive);

        Assert.That(client.ConnAck!.Properties!.ServerKeepAlive, Is.EqualTo(serverKeepAlive));
        broker.Advance(TimeSpan.FromSeconds(serverKeepAlive * 1.5 - 1));
        await ExpectPingRespAsync(client);
        broker.Advance(TimeSpan.FromSeconds(serverKeepAlive * 1.5 + 1));
        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.KeepAliveTimeout));
    }

    [Test]
    public async Task ServerKeepAlive_SameAsClient_NotSent()
    {
        await using var broker = new TestBroker(o => o.ServerKeepAlive = 30);
        PipeClient client = await broker.ConnectAsync("c", configure: c => c.KeepAlive = 30);

        Assert.That(client.ConnAck!.Properties!.ServerKeepAlive, Is.Null.Or.EqualTo((ushort)30));
    }

    // A v5 client asking more than the maximum (or 0, "never") is told the maximum, mosquitto's max_keepalive.
    [TestCase((ushort)200, (ushort)100)]
    [TestCase((ushort)0, (ushort)100)]
    public async Task MaximumKeepAlive_ClampsAndSendsServerKeepAlive(ushort clientKeepAlive, ushort expected)
    {
        await using var broker = new TestBroker(o => o.MaximumKeepAlive = 100);
        PipeClient client = await broker.ConnectAsync("c", configure: c => c.KeepAlive = clientKeepAlive);

        Assert.That(client.ConnAck!.Properties!.ServerKeepAlive, Is.EqualTo(expected));
        broker.Advance(TimeSpan.FromSeconds(expected * 1.5 + 1));
        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.KeepAliveTimeout));
    }

    [Test]
    public async Task MaximumKeepAlive_ClientBelow_NotSent()
    {
        await using var broker = new TestBroker(o => o.MaximumKeepAlive = 100);
        PipeClient client = await broker.ConnectAsync("c", configure: c => c.KeepAlive = 50);

        Assert.That(client.ConnAck!.Properties!.ServerKeepAlive, Is.Null);
    }

    // 3.1/3.1.1 cannot be told a smaller keep alive, so asking more than max_keepalive is refused (mosquitto).
    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    public async Task MaximumKeepAlive_V3ClientAbove_RefusedAsIdentifierRejected(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumKeepAlive = 100);
        PipeClient above = broker.Open(version);
        ConnectPacket connect = Connect(version, "above");
        connect.KeepAlive = 101;

        ConnAckPacket ack = await above.SendConnectAsync(connect);

        Assert.That(ack.ReturnCode, Is.EqualTo((byte)ConnectReturnCode.IdentifierRejected));
        Assert.That(await above.ExpectClosedAsync(), Is.Null);
        PipeClient within = await broker.ConnectAsync("within", version, configure: c => c.KeepAlive = 100);
        Assert.That(within.ConnAck!.ReturnCode, Is.Zero);
    }

    // [MQTT-3.1.2-24] Silence for one and a half keep alive periods closes the connection; v5 hears 0x8D first.
    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task KeepAlive_SilentFor1Point5Periods_Closed(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version, configure: c => c.KeepAlive = 10);

        broker.Advance(TimeSpan.FromSeconds(14));
        await ExpectPingRespAsync(client);
        broker.Advance(TimeSpan.FromSeconds(14));
        await ExpectPingRespAsync(client);
        broker.Advance(TimeSpan.FromSeconds(16));

        await client.ExpectClosedWithAsync(ReasonCode.KeepAliveTimeout);
        Assert.That(broker.Broker.Sessions.Count, Is.Zero, "a clean session ends with its connection");
    }

    [Test]
    public async Task KeepAlive_AnyPacketResetsTheTimer()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", configure: c => c.KeepAlive = 10);

        for (int i = 0; i < 4; i++)
        {
            broker.Advance(TimeSpan.FromSeconds(14));
            await client.PublishAsync("t", "x", QualityOfService.AtLeastOnce, (ushort)(i + 1));
            await client.ExpectAckAsync(PacketType.PubAck, (ushort)(i + 1));
        }

        await ExpectPingRespAsync(client);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task KeepAliveZero_NeverClosed(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version, configure: c => c.KeepAlive = 0);

        broker.Advance(TimeSpan.FromMinutes(20));

        await ExpectPingRespAsync(client);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task PingReq_PingResp(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version);

        await ExpectPingRespAsync(client);
        await ExpectPingRespAsync(client);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPingreqReceived), Is.EqualTo(2));
    }

    private static async Task ExpectPingRespAsync(PipeClient client)
    {
        await client.SendAsync(PacketType.PingReq);
        Assert.That(await client.ReceiveAsync(), Is.EqualTo(PacketType.PingResp));
    }

    private static async Task WaitForConnectionsAsync(TestBroker broker, long count)
    {
        using var cts = new CancellationTokenSource(PipeClient.ReceiveTimeout);
        // Sockets being served, CONNECT or not (the connections gauge counts only accepted clients).
        await Poll.UntilAsync(() => broker.Broker.OpenConnections == count, cts.Token);
    }

    private static void AssertRefused(ConnAckPacket ack, ProtocolVersion version, ConnectReturnCode v3Code, ReasonCode v5Code)
    {
        if (version == ProtocolVersion.V500)
        {
            Assert.That(ack.ReasonCode, Is.EqualTo(v5Code));
        }
        else
        {
            Assert.That(ack.ReturnCode, Is.EqualTo((byte)v3Code));
        }

        Assert.That(ack.SessionPresent, Is.False);
    }
}
