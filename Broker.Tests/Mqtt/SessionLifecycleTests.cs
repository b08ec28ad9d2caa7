using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Session lifecycle as a client sees it [MQTT-3.1.2.4], [MQTT-3.1.2.11.2], [MQTT-4.1]: Clean Start and Session Present,
/// Session Expiry Interval (from CONNECT, changed by DISCONNECT, EMQX's interval for 3.1.1), takeover, client ids.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SessionLifecycleTests
{
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task CleanStartFalse_WithoutSession_SessionPresentIsFalse(ProtocolVersion version)
    {
        await using var broker = new TestBroker();

        PipeClient client = await broker.ConnectAsync("c", version, cleanStart: false, configure: Expiry(version, 60));

        Assert.That(client.ConnAck!.SessionPresent, Is.False);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionCreated), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionResumed), Is.Zero);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task CleanStartFalse_AfterPersistentSession_ResumesSubscriptionsAndQueue(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", version, cleanStart: false, configure: Expiry(version, 60));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DisconnectAsync();
        await first.ExpectClosedAsync();

        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s/1", "while away", QualityOfService.AtLeastOnce, 1);
        PublishAckPacket puback = await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(puback.ReasonCode, Is.EqualTo(ReasonCode.Success), "an offline persistent session is a matching subscriber");

        PipeClient second = await broker.ConnectAsync("c", version, cleanStart: false, configure: Expiry(version, 60));

        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        PublishModel queued = await second.ExpectPublishAsync("s/1", "while away");
        Assert.That(queued.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(queued.Dup, Is.False, "a queued message was never sent, so it is not a redelivery");
        await second.SendAckAsync(PacketType.PubAck, queued.PacketIdentifier);

        await pub.PublishAsync("s/2", "live");
        await second.ExpectPublishAsync("s/2", "live");
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionResumed), Is.EqualTo(1));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task CleanStartTrue_DiscardsExistingSession(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", version, cleanStart: false, configure: Expiry(version, 60));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DisconnectAsync();
        await first.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s/1", "while away", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);

        PipeClient second = await broker.ConnectAsync("c", version, cleanStart: true);

        Assert.That(second.ConnAck!.SessionPresent, Is.False, "[MQTT-3.2.2-2]");
        await pub.PublishAsync("s/2", "after", QualityOfService.AtLeastOnce, 2);
        PublishAckPacket ack = await pub.ExpectAckAsync(PacketType.PubAck, 2);
        if (version == ProtocolVersion.V500)
        {
            Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers), "the old subscription went with the session");
        }

        await second.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionDiscarded), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(2));
    }

    [Test]
    public async Task V5_NoSessionExpiryInterval_SessionEndsWithConnection()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        await first.ExpectClosedAsync();

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "absent Session Expiry Interval means 0 [MQTT-3.1.2-11]");
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s/1", "x", QualityOfService.AtLeastOnce, 1);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await second.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));
    }

    [Test]
    public async Task V5_SessionExpiryInterval_SessionKeptUntilItElapses()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 10));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        await first.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(9));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null, "9 s of a 10 s expiry");

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 10));
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
    }

    [Test]
    public async Task V5_SessionExpiryInterval_SessionDiscardedWhenItElapses()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 10));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        await first.ExpectClosedAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s/1", "queued then lost", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(broker.Broker.Stats.GetCount(StatId.Sessions), Is.EqualTo(2));

        broker.Advance(TimeSpan.FromSeconds(10));

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Sessions), Is.EqualTo(1));
        await pub.PublishAsync("s/2", "x", QualityOfService.AtLeastOnce, 2);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 2)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers), "the subscription expired with the session");

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 10));
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await second.ExpectNothingAsync();
    }

    [Test]
    public async Task V5_SessionExpiryMaximum_NeverExpires()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, uint.MaxValue));
        await first.DropAsync();
        await first.ExpectClosedAsync();

        // One big step (a week of one-second steps would be slow), then ticks so the housekeeping runs at the new time.
        broker.Time.Advance(TimeSpan.FromDays(7));
        broker.Advance(TimeSpan.FromSeconds(2));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.True, "0xFFFFFFFF means the session does not expire [MQTT-3.1.2-23]");
    }

    [Test]
    public async Task V5_ExpiryIsTakenFromTheLatestConnect()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 3600));
        await first.DropAsync();
        await first.ExpectClosedAsync();
        PipeClient second = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 5));
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        await second.DropAsync();
        await second.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(5));

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
    }

    [Test]
    public async Task V5_DisconnectWithZeroExpiry_EndsSessionNow()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 3600));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        await first.SendAsync(new DisconnectPacket { Properties = new MqttProperties { SessionExpiryInterval = 0 } });
        await first.ExpectClosedAsync();

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
    }

    [Test]
    public async Task V5_DisconnectWithLongerExpiry_KeepsSessionLonger()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 5));

        await first.SendAsync(new DisconnectPacket { Properties = new MqttProperties { SessionExpiryInterval = 100 } });
        await first.ExpectClosedAsync();
        Assert.That(broker.Broker.Sessions.Find("c")!.ExpiryInterval, Is.EqualTo(100), "the session reports the interval it now has");
        broker.Advance(TimeSpan.FromSeconds(50));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
    }

    [Test]
    public async Task V5_DisconnectSettingExpiryAfterZero_IsProtocolError()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false);

        await first.SendAsync(new DisconnectPacket { Properties = new MqttProperties { SessionExpiryInterval = 100 } });
        DisconnectPacket? disconnect = await first.ExpectClosedAsync();

        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError), "[MQTT-3.14.2-2]");
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "the session keeps the CONNECT's expiry of 0");
    }

    [Test]
    public async Task V311_PersistentSession_ExpiresAfterConfiguredInterval()
    {
        await using var broker = new TestBroker(o => o.SessionExpiryInterval = TimeSpan.FromSeconds(30));
        PipeClient first = await broker.ConnectAsync("c", ProtocolVersion.V311, cleanStart: false);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        await first.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(29));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null);
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);

        PipeClient second = await broker.ConnectAsync("c", ProtocolVersion.V311, cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
    }

    [Test]
    public async Task V311_CleanSession_EndsWithConnection()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", ProtocolVersion.V311, cleanStart: true);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        await first.ExpectClosedAsync();

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "[MQTT-3.1.2-6]");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Takeover_ClosesOldConnection_NewOneGetsTheSession(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", version, cleanStart: false, configure: Expiry(version, 60));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        PipeClient second = await broker.ConnectAsync("c", version, cleanStart: false, configure: Expiry(version, 60));

        DisconnectPacket? disconnect = await first.ExpectClosedAsync();
        if (version == ProtocolVersion.V500)
        {
            Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.SessionTakenOver), "[MQTT-3.1.4-3]");
        }
        else
        {
            Assert.That(disconnect, Is.Null, "3.1.1 has no DISCONNECT from the server: the socket just closes");
        }

        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Find("c")!.IsConnected, Is.True, "the old connection's close must not detach the new one");

        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s/1", "to the new connection", QualityOfService.AtLeastOnce, 1);
        await pub.ExpectAckAsync(PacketType.PubAck, 1);
        PublishModel delivered = await second.ExpectPublishAsync("s/1", "to the new connection");
        await second.SendAckAsync(PacketType.PubAck, delivered.PacketIdentifier);
    }

    [Test]
    public async Task Takeover_ConcurrentConnectsWithOneId_ExactlyOneSurvives()
    {
        const int Contenders = 8;
        await using var broker = new TestBroker();
        PipeClient[] clients = [.. Enumerable.Range(0, Contenders).Select(_ => broker.Open())];

        await Task.WhenAll(clients.Select(c => c.SendConnectAsync(new ConnectPacket
        {
            ClientId = "c",
            ProtocolVersion = ProtocolVersion.V500,
            CleanStart = false,
            Properties = new MqttProperties { SessionExpiryInterval = 60 },
        })));
        Assert.That(clients.Select(c => c.ConnAck!.ReasonCode), Is.All.EqualTo(ReasonCode.Success));

        var open = new List<Task>(clients.Select(c => c.Served));
        while (open.Count > 1)
        {
            open.Remove(await Task.WhenAny(open));
        }

        PipeClient survivor = clients.Single(c => !c.Served.IsCompleted);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.EqualTo(Contenders - 1));
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Find("c")!.IsConnected, Is.True);
        await survivor.SubscribeAsync("s");
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "x");
        await survivor.ExpectPublishAsync("s", "x");
    }

    [Test]
    public async Task Takeover_WithCleanStart_DropsSubscriptions()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 60));
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        PipeClient second = await broker.ConnectAsync("c", cleanStart: true);
        await first.ExpectClosedAsync();

        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s/1", "x", QualityOfService.AtLeastOnce, 1);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));
        await second.ExpectNothingAsync();

        // EMQX counts session.takeovered only when Clean Start is 0; a Clean Start takeover discards the session.
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionDiscarded), Is.EqualTo(1));
    }

    [Test]
    public async Task Takeover_SessionWithoutExpiry_NewConnectionStillWorks()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c");

        PipeClient second = await broker.ConnectAsync("c");
        await first.ExpectClosedAsync();

        // The old connection had Session Expiry 0; its close must not end the session the new connection now owns.
        Assert.That(broker.Broker.Sessions.Find("c")?.IsConnected, Is.True);
        Assert.That(await second.SubscribeAsync("s", QualityOfService.AtLeastOnce), Is.EqualTo(new[] { ReasonCode.GrantedQoS1 }));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "x");
        await second.ExpectPublishAsync("s", "x");
    }

    [Test]
    public async Task V5_CleanStartWithExpiry_SessionOutlivesConnection()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: true, configure: Expiry(ProtocolVersion.V500, 60));
        await first.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await first.DisconnectAsync();
        await first.ExpectClosedAsync();

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);

        // Clean Start only discards what existed before this connection; the new session is kept for its expiry.
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "x");
        await second.ExpectPublishAsync("s", "x");
    }

    [Test]
    public async Task V5_SessionExpiredBetweenHousekeepingTicks_IsNotResumed()
    {
        await using var broker = new TestBroker();
        broker.Advance(TimeSpan.FromMilliseconds(500));
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 10));
        await first.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        await first.ExpectClosedAsync();

        // Disconnected at 0.5 s with a 10 s expiry. The sweep last runs at 10.2 s (the fake clock fires a timer at the
        // end of the step that crosses it); at 10.7 s the session has expired though no sweep has seen it.
        broker.Advance(TimeSpan.FromMilliseconds(9_700));
        broker.Advance(TimeSpan.FromMilliseconds(500));
        PipeClient second = await broker.ConnectAsync("c", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 10));

        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));
    }

    [Test]
    public async Task RefusedConnect_DoesNotTakeOverExistingConnection()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c");
        await first.SubscribeAsync("s");
        PipeClient intruder = broker.Open();

        ConnAckPacket refused = await intruder.SendConnectAsync(new ConnectPacket
        {
            ClientId = "c",
            ProtocolVersion = ProtocolVersion.V500,
            Properties = new MqttProperties { AuthenticationMethod = "SCRAM-SHA-1" },
        });

        Assert.That(refused.ReasonCode, Is.EqualTo(ReasonCode.BadAuthenticationMethod));
        await intruder.ExpectClosedAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.Zero);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "still here");
        await first.ExpectPublishAsync("s", "still here");
    }

    [Test]
    public async Task V5_EmptyClientId_GetsAssignedIdentifierThatCanResume()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("", cleanStart: false, configure: Expiry(ProtocolVersion.V500, 60));
        string? assigned = first.ConnAck!.Properties?.AssignedClientIdentifier;
        Assert.That(assigned, Is.Not.Null.And.Not.Empty, "[MQTT-3.2.2-16]");
        await first.DisconnectAsync();
        await first.ExpectClosedAsync();

        PipeClient second = await broker.ConnectAsync(assigned!, cleanStart: false, configure: Expiry(ProtocolVersion.V500, 60));

        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        Assert.That(second.ConnAck.Properties?.AssignedClientIdentifier, Is.Null, "only an empty id is assigned one");
    }

    [Test]
    public async Task V5_EmptyClientIds_GetDistinctSessions()
    {
        await using var broker = new TestBroker();
        PipeClient a = await broker.ConnectAsync("");
        PipeClient b = await broker.ConnectAsync("");

        Assert.That(a.ConnAck!.Properties?.AssignedClientIdentifier, Is.Not.EqualTo(b.ConnAck!.Properties?.AssignedClientIdentifier));
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.Zero);
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(2));
    }

    [Test]
    public async Task V311_EmptyClientIdWithoutCleanSession_IsRejected()
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(ProtocolVersion.V311);

        ConnAckPacket ack = await client.SendConnectAsync(new ConnectPacket { ClientId = "", ProtocolVersion = ProtocolVersion.V311, CleanStart = false });

        Assert.That(ack.ReturnCode, Is.EqualTo((byte)ConnectReturnCode.IdentifierRejected), "[MQTT-3.1.3-8]");
        Assert.That(ack.SessionPresent, Is.False, "[MQTT-3.2.2-4]");
        await client.ExpectClosedAsync();
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    [Test]
    public async Task V311_EmptyClientIdWithCleanSession_IsAccepted()
    {
        await using var broker = new TestBroker();

        PipeClient client = await broker.ConnectAsync("", ProtocolVersion.V311, cleanStart: true);

        Assert.That(client.ConnAck!.SessionPresent, Is.False);
        Assert.That(await client.SubscribeAsync("s"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
    }

    /// <summary>A v5 Session Expiry Interval in CONNECT; 3.1.1 has none (the broker's option applies).</summary>
    internal static Action<ConnectPacket>? Expiry(ProtocolVersion version, uint seconds)
        => version == ProtocolVersion.V500 ? c => c.Properties = new MqttProperties { SessionExpiryInterval = seconds } : null;
}
