using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Session lifecycle as a client sees it [MQTT-3.1.2.4], [MQTT-3.1.2.11.2], [MQTT-4.1]: Clean Start and Session Present,
/// Session Expiry Interval (from CONNECT, changed by DISCONNECT, EMQX's interval for 3.1/3.1.1), takeover, kick,
/// client ids, and the connection and session gauges.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SessionLifecycleTests
{
    private static readonly ProtocolVersion[] AllVersions = [ProtocolVersion.V310, ProtocolVersion.V311, ProtocolVersion.V500];

    [TestCaseSource(nameof(AllVersions))]
    public async Task CleanStartFalse_WithoutSession_SessionPresentIsFalse(ProtocolVersion version)
    {
        await using var broker = new TestBroker();

        PipeClient client = await broker.ConnectPersistentAsync("c", version);

        Assert.That(client.ConnAck!.SessionPresent, Is.False);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionCreated), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionResumed), Is.Zero);
    }

    // [MQTT-3.2.2-2] A resumed session is present; its subscriptions and the messages queued while offline come back.
    [TestCaseSource(nameof(AllVersions))]
    public async Task CleanStartFalse_AfterPersistentSession_ResumesSubscriptionsAndQueue(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", version);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DisconnectAndWaitAsync();

        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAsync("s/1", "while away", QualityOfService.AtLeastOnce, 1);
        PublishAckPacket puback = await pub.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(puback.ReasonCode, Is.EqualTo(ReasonCode.Success), "an offline persistent session is a matching subscriber");
        Session session = broker.Broker.Sessions.Find("c")!;
        Assert.That(session.IsConnected, Is.False);
        Assert.That(session.QueueLength, Is.EqualTo(1));

        PipeClient second = await broker.ConnectPersistentAsync("c", version);

        Assert.That(second.ConnAck!.SessionPresent, Is.EqualTo(ResumedFlag(version)));
        PublishModel queued = await second.ExpectPublishAsync("s/1", "while away");
        Assert.That(queued.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(queued.Dup, Is.False, "a queued message was never sent, so it is not a redelivery");
        await second.SendAckAsync(PacketType.PubAck, queued.PacketIdentifier);

        await pub.PublishAsync("s/2", "live");
        await second.ExpectPublishAsync("s/2", "live");
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionResumed), Is.EqualTo(1));
    }

    // [MQTT-3.1.2-4] Clean Session / Clean Start 1 discards the stored session: no queue, no subscriptions.
    [TestCaseSource(nameof(AllVersions))]
    public async Task CleanStartTrue_DiscardsExistingSession(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", version);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DisconnectAndWaitAsync();
        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAndCompleteAsync("s/1", "while away", QualityOfService.AtLeastOnce, 1);

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
        Assert.That(broker.Broker.Sessions.Find("c")!.SubscriptionCount, Is.Zero);
    }

    // [MQTT-3.1.2-23] An absent Session Expiry Interval means 0 [MQTT-3.1.2-11]: the session ends with the connection,
    // however it ends, even without Clean Start.
    [TestCase(true)]
    [TestCase(false)]
    public async Task V5_NoSessionExpiryInterval_SessionEndsWithConnection(bool dropInsteadOfDisconnect)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        if (dropInsteadOfDisconnect)
        {
            await first.DropAndWaitAsync();
        }
        else
        {
            await first.DisconnectAndWaitAsync();
        }

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s/1", "x", QualityOfService.AtLeastOnce, 1);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await second.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));
    }

    [Test]
    public async Task V5_SessionExpiryInterval_SessionKeptUntilItElapses_CountedFromEachDisconnect()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", sessionExpiry: 30);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DisconnectAndWaitAsync();

        broker.Advance(TimeSpan.FromSeconds(29));
        PipeClient second = await broker.ConnectPersistentAsync("c", sessionExpiry: 30);
        Assert.That(second.ConnAck!.SessionPresent, Is.True, "reconnected within the interval");
        await second.DisconnectAndWaitAsync();

        broker.Advance(TimeSpan.FromSeconds(29));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null, "the interval counts again from the second disconnect");
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);

        PipeClient third = await broker.ConnectPersistentAsync("c", sessionExpiry: 30);
        Assert.That(third.ConnAck!.SessionPresent, Is.False);
    }

    [Test]
    public async Task V5_SessionExpiryInterval_SessionDiscardedWhenItElapses()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", sessionExpiry: 10);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAndWaitAsync();
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("s/1", "queued then lost", QualityOfService.AtLeastOnce, 1);
        Assert.That(broker.Broker.Stats.GetCount(StatId.Sessions), Is.EqualTo(2));

        broker.Advance(TimeSpan.FromSeconds(10));

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Sessions), Is.EqualTo(1));
        await pub.PublishAsync("s/2", "x", QualityOfService.AtLeastOnce, 2);
        Assert.That((await pub.ExpectAckAsync(PacketType.PubAck, 2)).ReasonCode, Is.EqualTo(ReasonCode.NoMatchingSubscribers), "the subscription expired with the session");

        PipeClient second = await broker.ConnectPersistentAsync("c", sessionExpiry: 10);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await second.ExpectNothingAsync();
    }

    [Test]
    public async Task V5_SessionExpiryMaximum_NeverExpires()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", sessionExpiry: uint.MaxValue);
        await first.DropAndWaitAsync();

        // One big step (a week of one-second steps would be slow), then ticks so the housekeeping runs at the new time.
        broker.Time.Advance(TimeSpan.FromDays(7));
        broker.Advance(TimeSpan.FromSeconds(2));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.True, "0xFFFFFFFF means the session does not expire [MQTT-3.1.2-23]");
    }

    // The expiry of the latest CONNECT applies; resuming with 0 makes the session end with this connection.
    [TestCase(5u)]
    [TestCase(0u)]
    public async Task V5_ExpiryIsTakenFromTheLatestConnect(uint onResume)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", sessionExpiry: 3600);
        await first.DropAndWaitAsync();
        PipeClient second = await broker.ConnectPersistentAsync("c", sessionExpiry: onResume);
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        await second.DropAndWaitAsync();

        if (onResume > 0)
        {
            broker.Advance(TimeSpan.FromSeconds(onResume - 1));
            Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null);
            broker.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
    }

    // [MQTT-3.14.2-2] DISCONNECT may change the Session Expiry Interval set in CONNECT: shorter, longer, or 0 (now).
    [TestCase(30u, 0u)]
    [TestCase(30u, 100u)]
    [TestCase(30u, 5u)]
    public async Task V5_Disconnect_UpdatesSessionExpiry(uint atConnect, uint atDisconnect)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectPersistentAsync("c", sessionExpiry: atConnect);
        await client.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        await client.DisconnectAndWaitAsync(atDisconnect);

        if (atDisconnect == 0)
        {
            Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "expiry 0 ends the session at once");
            PipeClient again = await broker.ConnectAsync("c", cleanStart: false);
            Assert.That(again.ConnAck!.SessionPresent, Is.False);
            return;
        }

        Assert.That(broker.Broker.Sessions.Find("c")!.ExpiryInterval, Is.EqualTo(atDisconnect), "the session reports the interval it now has");
        broker.Advance(TimeSpan.FromSeconds(atDisconnect - 1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null);
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
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

    // A 3.1/3.1.1 persistent session lives for BrokerOptions.SessionExpiryInterval after its connection ends.
    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    public async Task V3_PersistentSession_ExpiresAfterConfiguredInterval(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.SessionExpiryInterval = TimeSpan.FromSeconds(60));
        PipeClient pub = await broker.ConnectAsync("pub");
        PipeClient first = await broker.ConnectPersistentAsync("c", version);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        await first.DropAndWaitAsync();

        broker.Advance(TimeSpan.FromSeconds(59));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null, "still within the expiry interval");
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "expired");
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));

        await pub.PublishAndCompleteAsync("s/1", "gone", QualityOfService.AtLeastOnce, 1);
        PipeClient second = await broker.ConnectPersistentAsync("c", version);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await second.ExpectNothingAsync();
    }

    // [MQTT-3.1.2-6] A clean session ends with its connection, whether it closes with DISCONNECT or not.
    [TestCase(ProtocolVersion.V311, true)]
    [TestCase(ProtocolVersion.V311, false)]
    [TestCase(ProtocolVersion.V500, true)]
    [TestCase(ProtocolVersion.V500, false)]
    public async Task CleanSession_EndsWithConnection(ProtocolVersion version, bool dropInsteadOfDisconnect)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version, cleanStart: true);
        await client.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(1));

        if (dropInsteadOfDisconnect)
        {
            await client.DropAndWaitAsync();
        }
        else
        {
            await client.DisconnectAndWaitAsync();
        }

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        Assert.That(broker.Broker.Stats.GetCount(StatId.Sessions), Is.Zero);
    }

    // [MQTT-3.1.4-3] The same client id again: the old connection is closed (v5 hears 0x8E), the session moves over.
    [TestCaseSource(nameof(AllVersions))]
    public async Task Takeover_ClosesOldConnection_NewOneGetsTheSession(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", version);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        PipeClient second = await broker.ConnectPersistentAsync("c", version);

        // [MQTT-3.1.4-3]; 3.1/3.1.1 have no DISCONNECT from the server: the socket just closes.
        await first.ExpectClosedWithAsync(ReasonCode.SessionTakenOver);

        Assert.That(second.ConnAck!.SessionPresent, Is.EqualTo(ResumedFlag(version)));
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Find("c")!.IsConnected, Is.True, "the old connection's close must not detach the new one");

        PipeClient pub = await broker.ConnectAsync("pub", version);
        await pub.PublishAndCompleteAsync("s/1", "to the new connection", QualityOfService.AtLeastOnce, 1);
        await second.ExpectPublishAndCompleteAsync("s/1", "to the new connection");
    }

    [Test]
    public async Task Takeover_AcrossProtocolVersions_SessionMoves()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", ProtocolVersion.V311);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        PipeClient second = await broker.ConnectPersistentAsync("c", ProtocolVersion.V500);

        Assert.That(await first.ExpectClosedAsync(), Is.Null, "the 3.1.1 connection is closed without DISCONNECT");
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAndCompleteAsync("s/1", "after", QualityOfService.AtLeastOnce, 1);
        await second.ExpectPublishAndCompleteAsync("s/1", "after");
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

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Takeover_WithCleanStart_DropsSubscriptions(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectPersistentAsync("c", version);
        await first.SubscribeAsync("s/#", QualityOfService.AtLeastOnce);

        PipeClient second = await broker.ConnectAsync("c", version, cleanStart: true);
        await first.ExpectClosedAsync();

        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        Assert.That(broker.Broker.Sessions.Find("c")!.IsConnected, Is.True, "the old connection's close must not detach the new one");
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
        PipeClient first = await broker.ConnectAsync("c", cleanStart: true, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 60 });
        await first.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await first.DisconnectAndWaitAsync();

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);

        // Clean Start only discards what existed before this connection; the new session is kept for its expiry.
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        Assert.That(broker.Broker.Sessions.Find("c")!.SubscriptionCount, Is.EqualTo(1));
        PipeClient pub = await broker.ConnectAsync("pub");
        await pub.PublishAsync("s", "x");
        await second.ExpectPublishAsync("s", "x");
    }

    [Test]
    public async Task V5_SessionExpiredBetweenHousekeepingTicks_IsNotResumed()
    {
        await using var broker = new TestBroker();
        broker.Advance(TimeSpan.FromMilliseconds(500));
        PipeClient first = await broker.ConnectPersistentAsync("c", sessionExpiry: 10);
        await first.SubscribeAsync("s", QualityOfService.AtLeastOnce);
        await first.DropAndWaitAsync();

        // Disconnected at 0.5 s with a 10 s expiry. The sweep last runs at 10.2 s (the fake clock fires a timer at the
        // end of the step that crosses it); at 10.7 s the session has expired though no sweep has seen it.
        broker.Advance(TimeSpan.FromMilliseconds(9_700));
        broker.Advance(TimeSpan.FromMilliseconds(500));
        PipeClient second = await broker.ConnectPersistentAsync("c", sessionExpiry: 10);

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
        PipeClient first = await broker.ConnectPersistentAsync("", sessionExpiry: 60);
        string? assigned = first.ConnAck!.Properties?.AssignedClientIdentifier;
        Assert.That(assigned, Is.Not.Null.And.Not.Empty, "[MQTT-3.2.2-16]");
        await first.DisconnectAndWaitAsync();

        PipeClient second = await broker.ConnectPersistentAsync(assigned!, sessionExpiry: 60);

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

    [TestCaseSource(nameof(AllVersions))]
    public async Task Kick_ClosesConnectionAndDiscardsThePersistentSession(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectPersistentAsync("c", version);
        await client.SubscribeAsync("k");

        Assert.That(broker.Broker.Kick("c"), Is.True);

        await client.ExpectClosedWithAsync(ReasonCode.AdministrativeAction);
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "EMQX's kick ends the session, not just the connection");
        Assert.That(broker.Broker.GetRoutes(), Is.Empty);
        Assert.That(broker.Broker.Kick("c"), Is.False, "nothing left to kick");
        Assert.That(broker.Broker.Kick("nobody"), Is.False);

        PipeClient again = await broker.ConnectPersistentAsync("c", version);
        Assert.That(again.ConnAck!.SessionPresent, Is.False);
    }

    [Test]
    public async Task Kick_DiscardsAnOfflineSession()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectPersistentAsync("c");
        await client.SubscribeAsync("k", QualityOfService.AtLeastOnce);
        await client.DisconnectAndWaitAsync();
        Assert.That(broker.Broker.Sessions.Find("c")?.IsConnected, Is.False, "offline, waiting for its client");

        Assert.That(broker.Broker.Kick("c"), Is.True);

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));
    }

    // EMQX's stats: connections counts open connections; sessions (and channels, EMQX's alias) count sessions, offline ones too.
    [Test]
    public async Task Stats_ConnectionsAndSessions()
    {
        await using var broker = new TestBroker(o => o.SessionExpiryInterval = TimeSpan.FromSeconds(10));
        BrokerStatsView stats = new(broker);

        PipeClient a = await broker.ConnectAsync("a", ProtocolVersion.V311, cleanStart: false);
        PipeClient b = await broker.ConnectAsync("b", ProtocolVersion.V500);
        stats.Assert(connections: 2, sessions: 2);

        await b.DisconnectAndWaitAsync();
        stats.Assert(connections: 1, sessions: 1);

        await a.DisconnectAndWaitAsync();
        stats.Assert(connections: 0, sessions: 1);
        Assert.That(broker.Broker.Stats.GetMax(StatId.Connections), Is.EqualTo(2));
        Assert.That(broker.Broker.Stats.GetMax(StatId.Sessions), Is.EqualTo(2));

        broker.Advance(TimeSpan.FromSeconds(10));
        stats.Assert(connections: 0, sessions: 0);

        PipeClient again = await broker.ConnectAsync("a", ProtocolVersion.V311, cleanStart: false);
        Assert.That(again.ConnAck!.SessionPresent, Is.False);
        stats.Assert(connections: 1, sessions: 1);
    }

    /// <summary>Session Present on a resumed session: 3.1 has no such flag, its CONNACK byte is reserved 0.</summary>
    private static bool ResumedFlag(ProtocolVersion version) => version != ProtocolVersion.V310;

    /// <summary>Reads the connection and session gauges together.</summary>
    private sealed class BrokerStatsView(TestBroker broker)
    {
        public void Assert(long connections, long sessions)
        {
            var stats = broker.Broker.Stats;
            NUnit.Framework.Assert.Multiple(() =>
            {
                NUnit.Framework.Assert.That(stats.GetCount(StatId.Connections), Is.EqualTo(connections), "connections.count");
                NUnit.Framework.Assert.That(stats.GetCount(StatId.Sessions), Is.EqualTo(sessions), "sessions.count");
                NUnit.Framework.Assert.That(stats.GetCount(StatId.Channels), Is.EqualTo(sessions), "channels.count (EMQX: the session count)");
                NUnit.Framework.Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(sessions), "session table");
            });
        }
    }
}
