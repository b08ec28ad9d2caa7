using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// The session table as clients see it: takeover, Clean Session / Clean Start, the session present flag, expiry,
/// the offline queue, the connection and session gauges, DISCONNECT and kick.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SessionTests
{
    private static readonly ProtocolVersion[] AllVersions = [ProtocolVersion.V310, ProtocolVersion.V311, ProtocolVersion.V500];

    /// <summary>A session that outlives its connection: Clean Session 0 (v3), or Clean Start 0 with an expiry (v5).</summary>
    private static Task<PipeClient> ConnectPersistentAsync(TestBroker broker, string clientId, ProtocolVersion version, uint expiry = 300)
        => broker.ConnectAsync(clientId, version, cleanStart: false, configure: c =>
        {
            if (version == ProtocolVersion.V500)
            {
                c.Properties = new MqttProperties { SessionExpiryInterval = expiry };
            }
        });

    /// <summary>Session Present on a resumed session: 3.1 has no such flag, its CONNACK byte is reserved 0.</summary>
    private static bool ResumedFlag(ProtocolVersion version) => version != ProtocolVersion.V310;

    /// <summary>DISCONNECT, then waits until the broker has finished with the connection (session detached or ended).</summary>
    private static async Task DisconnectAsync(PipeClient client, uint? sessionExpiry = null)
    {
        await client.SendAsync(new DisconnectPacket
        {
            ReasonCode = ReasonCode.NormalDisconnection,
            Properties = sessionExpiry is { } expiry ? new MqttProperties { SessionExpiryInterval = expiry } : null,
        });
        Assert.That(await client.ExpectClosedAsync(), Is.Null, "the broker answers a normal DISCONNECT by closing, without a packet");
    }

    /// <summary>Publishes at QoS 1 and waits for the PUBACK, so the message has been routed when this returns.</summary>
    private static async Task PublishRoutedAsync(PipeClient publisher, string topic, string payload, ushort packetId)
    {
        await publisher.PublishAsync(topic, payload, QualityOfService.AtLeastOnce, packetId);
        await publisher.ExpectAckAsync(PacketType.PubAck, packetId);
    }

    private static async Task ReceiveAndAckAsync(PipeClient client, string topic, string payload)
    {
        PublishModel publish = await client.ExpectPublishAsync(topic, payload);
        if (publish.QoS == QualityOfService.AtLeastOnce)
        {
            await client.SendAckAsync(PacketType.PubAck, publish.PacketIdentifier);
        }
    }

    [TestCaseSource(nameof(AllVersions))]
    public async Task NewSession_SessionPresentFalse_EvenWithoutCleanStart(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await ConnectPersistentAsync(broker, "c", version);

        Assert.That(client.ConnAck!.SessionPresent, Is.False);
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionCreated), Is.EqualTo(1));
    }

    // [MQTT-3.2.2-2] A resumed session is present; its subscriptions and the messages queued while offline come back.
    [TestCaseSource(nameof(AllVersions))]
    public async Task PersistentSession_Reconnect_ResumesSubscriptionsAndQueue(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);

        await PublishRoutedAsync(publisher, "t/1", "offline", 1);
        Session session = broker.Broker.Sessions.Find("c")!;
        Assert.That(session.IsConnected, Is.False);
        Assert.That(session.QueueLength, Is.EqualTo(1));

        PipeClient second = await ConnectPersistentAsync(broker, "c", version);
        Assert.That(second.ConnAck!.SessionPresent, Is.EqualTo(ResumedFlag(version)));
        await ReceiveAndAckAsync(second, "t/1", "offline");
        await PublishRoutedAsync(publisher, "t/2", "online", 2);
        await ReceiveAndAckAsync(second, "t/2", "online");
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionResumed), Is.EqualTo(1));
    }

    // [MQTT-3.1.2-4] Clean Session / Clean Start 1 discards the stored session: no queue, no subscriptions.
    [TestCaseSource(nameof(AllVersions))]
    public async Task CleanStart_DiscardsStoredSession(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);
        await PublishRoutedAsync(publisher, "t/1", "offline", 1);

        PipeClient second = await broker.ConnectAsync("c", version, cleanStart: true);

        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await PublishRoutedAsync(publisher, "t/2", "online", 2);
        await second.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionDiscarded), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Find("c")!.SubscriptionCount, Is.Zero);
    }

    // [MQTT-3.1.4-3] The same client id again: the old connection is closed (v5 hears 0x8E), the session moves over.
    [TestCaseSource(nameof(AllVersions))]
    public async Task Takeover_ClosesOldConnection_SessionPresent(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient old = await ConnectPersistentAsync(broker, "c", version);
        await old.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);

        PipeClient current = await ConnectPersistentAsync(broker, "c", version);

        DisconnectPacket? disconnect = await old.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(version == ProtocolVersion.V500 ? ReasonCode.SessionTakenOver : (ReasonCode?)null));
        Assert.That(current.ConnAck!.SessionPresent, Is.EqualTo(ResumedFlag(version)));
        await PublishRoutedAsync(publisher, "t/1", "after", 1);
        await ReceiveAndAckAsync(current, "t/1", "after");
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTakeovered), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(2));
        Assert.That(broker.Broker.Sessions.Find("c")!.IsConnected, Is.True, "the old connection's close must not detach the new one");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Takeover_WithCleanStart_OldSessionDiscarded(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient old = await ConnectPersistentAsync(broker, "c", version);
        await old.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);

        PipeClient current = await broker.ConnectAsync("c", version, cleanStart: true);

        await old.ExpectClosedAsync();
        Assert.That(current.ConnAck!.SessionPresent, Is.False);
        await PublishRoutedAsync(publisher, "t/1", "after", 1);
        await current.ExpectNothingAsync();
        Assert.That(broker.Broker.Sessions.Find("c")!.IsConnected, Is.True);
    }

    [Test]
    public async Task Takeover_AcrossProtocolVersions_SessionMoves()
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient old = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V311);
        await old.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);

        PipeClient current = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500);

        Assert.That(await old.ExpectClosedAsync(), Is.Null);
        Assert.That(current.ConnAck!.SessionPresent, Is.True);
        await PublishRoutedAsync(publisher, "t/1", "after", 1);
        await ReceiveAndAckAsync(current, "t/1", "after");
    }

    // A 3.1/3.1.1 persistent session lives for BrokerOptions.SessionExpiryInterval after its connection ends.
    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    public async Task V3PersistentSession_ExpiresAfterConfiguredInterval(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.SessionExpiryInterval = TimeSpan.FromSeconds(60));
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        await first.DropAsync();
        Assert.That(await first.ExpectClosedAsync(), Is.Null);

        broker.Advance(TimeSpan.FromSeconds(59));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null, "still within the expiry interval");
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "expired");
        Assert.That(broker.Broker.Counters.Get(CounterId.SessionTerminated), Is.EqualTo(1));

        await PublishRoutedAsync(publisher, "t/1", "gone", 1);
        PipeClient second = await ConnectPersistentAsync(broker, "c", version);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await second.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task CleanSession_EndsWithConnection(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", version, cleanStart: true);
        Assert.That(broker.Broker.Sessions.Count, Is.EqualTo(1));

        await DisconnectAsync(client);

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        Assert.That(broker.Broker.Stats.GetCount(StatId.Sessions), Is.Zero);
    }

    // [MQTT-3.1.2-23] v5 Session Expiry Interval 0 (or absent): the session ends when the connection closes.
    [TestCase(true)]
    [TestCase(false)]
    public async Task V5SessionExpiryZero_EndsWithConnection_EvenWithoutCleanStart(bool dropInsteadOfDisconnect)
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: false);
        await first.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        if (dropInsteadOfDisconnect)
        {
            await first.DropAsync();
            await first.ExpectClosedAsync();
        }
        else
        {
            await DisconnectAsync(first);
        }

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
    }

    [Test]
    public async Task V5SessionExpiry_SessionKeptForTheInterval()
    {
        await using var broker = new TestBroker();
        PipeClient first = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500, expiry: 30);
        await first.SubscribeAsync("t/#", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);

        broker.Advance(TimeSpan.FromSeconds(29));
        PipeClient second = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500, expiry: 30);
        Assert.That(second.ConnAck!.SessionPresent, Is.True, "reconnected within the interval");
        await DisconnectAsync(second);

        // The interval counts again from the second disconnect.
        broker.Advance(TimeSpan.FromSeconds(29));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null);
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);

        PipeClient third = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500, expiry: 30);
        Assert.That(third.ConnAck!.SessionPresent, Is.False);
    }

    // [MQTT-3.1.2-23] 0xFFFFFFFF: the session does not expire.
    [Test]
    public async Task V5SessionExpiryMax_NeverExpires()
    {
        await using var broker = new TestBroker();
        PipeClient first = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500, expiry: uint.MaxValue);
        await DisconnectAsync(first);

        broker.Advance(TimeSpan.FromHours(3));

        PipeClient second = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500);
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
    }

    // Clean Start only discards what was there; with an expiry the new session still outlives the connection.
    [Test]
    public async Task V5CleanStartWithExpiry_SessionOutlivesConnection()
    {
        await using var broker = new TestBroker();
        PipeClient first = await broker.ConnectAsync("c", cleanStart: true, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 60 });
        await first.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);

        PipeClient second = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500);

        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        Assert.That(broker.Broker.Sessions.Find("c")!.SubscriptionCount, Is.EqualTo(1));
    }

    // The expiry of the latest CONNECT applies: resuming with 0 makes the session end with this connection.
    [Test]
    public async Task V5Resume_WithExpiryZero_SessionEndsWithConnection()
    {
        await using var broker = new TestBroker();
        PipeClient first = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500, expiry: 60);
        await DisconnectAsync(first);
        PipeClient second = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(second.ConnAck!.SessionPresent, Is.True);

        await DisconnectAsync(second);

        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
    }

    // [MQTT-3.14.2-2] DISCONNECT may change the Session Expiry Interval set in CONNECT.
    [TestCase(30u, 0u)]
    [TestCase(30u, 100u)]
    [TestCase(30u, 5u)]
    public async Task V5Disconnect_UpdatesSessionExpiry(uint atConnect, uint atDisconnect)
    {
        await using var broker = new TestBroker();
        PipeClient client = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500, expiry: atConnect);

        await DisconnectAsync(client, atDisconnect);

        if (atDisconnect == 0)
        {
            Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "expiry 0 ends the session at once");
            return;
        }

        broker.Advance(TimeSpan.FromSeconds(atDisconnect - 1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null);
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
    }

    // [MQTT-3.14.2-2] Setting a non-zero expiry on DISCONNECT after CONNECT had 0 is a Protocol Error.
    [Test]
    public async Task V5Disconnect_ExpiryFromZeroToNonZero_ProtocolError()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false);

        await client.SendAsync(new DisconnectPacket { Properties = new MqttProperties { SessionExpiryInterval = 60 } });

        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null, "the session keeps expiry 0 and ends");
    }

    // max_mqueue_len: a full queue drops its oldest message and counts it (EMQX's delivery.dropped.queue_full).
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task OfflineQueue_BoundedByMaximumQueueLength_OldestDropped(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.MaximumQueueLength = 3);
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);

        for (int i = 1; i <= 5; i++)
        {
            await PublishRoutedAsync(publisher, "t", $"m{i}", (ushort)i);
        }

        Session session = broker.Broker.Sessions.Find("c")!;
        Assert.That(session.QueueLength, Is.EqualTo(3));
        Assert.That(session.QueueDropped, Is.EqualTo(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.EqualTo(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDropped), Is.EqualTo(2));

        PipeClient second = await ConnectPersistentAsync(broker, "c", version);
        await ReceiveAndAckAsync(second, "t", "m3");
        await ReceiveAndAckAsync(second, "t", "m4");
        await ReceiveAndAckAsync(second, "t", "m5");
        await second.ExpectNothingAsync();
    }

    // A full queue dropping a QoS 0 message counts it as delivery.dropped.qos0_msg, as EMQX does.
    [Test]
    public async Task OfflineQueue_Full_DroppedQoS0CountedAsQos0Msg()
    {
        await using var broker = new TestBroker(o => o.MaximumQueueLength = 2);
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500);
        await first.SubscribeAsync("q0", QualityOfService.AtMostOnce);
        await first.SubscribeAsync("q1", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);
        await PublishRoutedAsync(publisher, "q0", "a", 1);
        await PublishRoutedAsync(publisher, "q1", "b", 2);
        await PublishRoutedAsync(publisher, "q1", "c", 3);

        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQueueFull), Is.Zero);
        PipeClient second = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V500);
        await ReceiveAndAckAsync(second, "q1", "b");
        await ReceiveAndAckAsync(second, "q1", "c");
        await second.ExpectNothingAsync();
    }

    // More queued than the inflight window: delivered in order as the client acknowledges.
    [Test]
    public async Task OfflineQueue_LargerThanInflightWindow_DeliveredInOrder()
    {
        await using var broker = new TestBroker(o => o.MaximumInflight = 2);
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V311);
        await first.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);
        for (int i = 1; i <= 6; i++)
        {
            await PublishRoutedAsync(publisher, "t", $"m{i}", (ushort)i);
        }

        PipeClient second = await ConnectPersistentAsync(broker, "c", ProtocolVersion.V311);
        for (int i = 1; i <= 6; i++)
        {
            await ReceiveAndAckAsync(second, "t", $"m{i}");
        }

        await second.ExpectNothingAsync();
    }

    // mqueue_store_qos0 (default true): QoS 0 messages wait for an offline session too.
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task OfflineQueue_QoS0Stored_WhenEnabled(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.QueueQoS0Messages = true);
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("t", QualityOfService.AtMostOnce);
        await DisconnectAsync(first);
        await PublishRoutedAsync(publisher, "t", "a", 1);
        await PublishRoutedAsync(publisher, "t", "b", 2);

        PipeClient second = await ConnectPersistentAsync(broker, "c", version);

        PublishModel a = await second.ExpectPublishAsync("t", "a");
        Assert.That(a.QoS, Is.EqualTo(QualityOfService.AtMostOnce));
        await second.ExpectPublishAsync("t", "b");
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.Zero);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task OfflineQueue_QoS0Dropped_WhenDisabled(ProtocolVersion version)
    {
        await using var broker = new TestBroker(o => o.QueueQoS0Messages = false);
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("q0", QualityOfService.AtMostOnce);
        await first.SubscribeAsync("q1", QualityOfService.AtLeastOnce);
        await DisconnectAsync(first);
        await PublishRoutedAsync(publisher, "q0", "a", 1);
        await PublishRoutedAsync(publisher, "q1", "b", 2);

        PipeClient second = await ConnectPersistentAsync(broker, "c", version);

        await ReceiveAndAckAsync(second, "q1", "b");
        await second.ExpectNothingAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.DeliveryDropped), Is.EqualTo(1));
    }

    // A QoS 1 delivery not acknowledged before the connection dropped is sent again, DUP set [MQTT-4.4.0-1].
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task UnacknowledgedDelivery_ResentWithDupOnReconnect(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient publisher = await broker.ConnectAsync("pub");
        PipeClient first = await ConnectPersistentAsync(broker, "c", version);
        await first.SubscribeAsync("t", QualityOfService.AtLeastOnce);
        await PublishRoutedAsync(publisher, "t", "m", 1);
        PublishModel original = await first.ExpectPublishAsync("t", "m");
        await first.DropAsync();
        await first.ExpectClosedAsync();

        PipeClient second = await ConnectPersistentAsync(broker, "c", version);

        PublishModel again = await second.ExpectPublishAsync("t", "m");
        Assert.That(again.Dup, Is.True);
        Assert.That(again.PacketIdentifier, Is.EqualTo(original.PacketIdentifier));
        await second.SendAckAsync(PacketType.PubAck, again.PacketIdentifier);
        await second.ExpectNothingAsync();
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

        await DisconnectAsync(b);
        stats.Assert(connections: 1, sessions: 1);

        await DisconnectAsync(a);
        stats.Assert(connections: 0, sessions: 1);
        Assert.That(broker.Broker.Stats.GetMax(StatId.Connections), Is.EqualTo(2));
        Assert.That(broker.Broker.Stats.GetMax(StatId.Sessions), Is.EqualTo(2));

        broker.Advance(TimeSpan.FromSeconds(10));
        stats.Assert(connections: 0, sessions: 0);

        PipeClient again = await broker.ConnectAsync("a", ProtocolVersion.V311, cleanStart: false);
        Assert.That(again.ConnAck!.SessionPresent, Is.False);
        stats.Assert(connections: 1, sessions: 1);
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task NormalDisconnect_ClosesCleanly_WillNotPublished(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher");
        await watcher.SubscribeAsync("will/#");
        PipeClient client = await broker.ConnectAsync("c", version, configure: c => c.Will = new WillMessage { Topic = "will/c"u8.ToArray(), Payload = "gone"u8.ToArray() });

        await DisconnectAsync(client);

        Assert.That(broker.Broker.Counters.Get(CounterId.ClientDisconnected), Is.EqualTo(1));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.EqualTo(1));
        await watcher.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Kick_ClosesConnection_V5GetsAdministrativeAction(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = await ConnectPersistentAsync(broker, "c", version);

        Assert.That(broker.Broker.Kick("c"), Is.True);

        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(version == ProtocolVersion.V500 ? ReasonCode.AdministrativeAction : (ReasonCode?)null));
        Assert.That(broker.Broker.Sessions.Find("c")?.IsConnected, Is.False, "a persistent session stays, offline");
        Assert.That(broker.Broker.Kick("c"), Is.False, "no longer connected");
        Assert.That(broker.Broker.Kick("nobody"), Is.False);
    }

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
