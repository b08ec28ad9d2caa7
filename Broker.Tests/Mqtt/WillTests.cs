using System.Text;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>
/// Will messages [MQTT-3.1.2-8..17], [MQTT-3.1.3-9]: published when the connection ends without a normal DISCONNECT,
/// after the v5 Will Delay Interval or when the session ends, whichever is first; cancelled by a resumed session.
/// </summary>
/// <remarks>
/// Session takeover closes the old network connection without DISCONNECT, so its will is published unless it has a
/// Will Delay Interval and the new connection resumes the session (MQTT 5.0 section 3.1.3.2.2; EMQX 5 and mosquitto do
/// the same). A takeover or reconnect with Clean Start ends the old session, so a delayed will is published at once.
/// </remarks>
[TestFixture]
[CancelAfter(30_000)]
public sealed class WillTests
{
    private const string WillTopic = "will/c";

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task AbnormalClose_PublishesWill_AtWillQoS(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version, QualityOfService.ExactlyOnce);
        PipeClient client = await broker.ConnectAsync("c", version, configure: Will("gone", QualityOfService.AtLeastOnce));

        await client.DropAsync();

        PublishModel will = await watch.ExpectPublishAsync(WillTopic, "gone");
        Assert.That(will.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(will.Retain, Is.False);
        await watch.SendAckAsync(PacketType.PubAck, will.PacketIdentifier);
        await watch.ExpectNothingAsync();
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task WillQoS_IsCappedBySubscriptionQoS(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version, QualityOfService.AtMostOnce);
        PipeClient client = await broker.ConnectAsync("c", version, configure: Will("gone", QualityOfService.ExactlyOnce));

        await client.DropAsync();

        Assert.That((await watch.ExpectPublishAsync(WillTopic, "gone")).QoS, Is.EqualTo(QualityOfService.AtMostOnce));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task NormalDisconnect_DiscardsWill(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version);
        PipeClient client = await broker.ConnectAsync("c", version, configure: Will("gone"));

        // [MQTT-3.1.2-10] (3.1.1) / [MQTT-3.14.4-3] (5.0): DISCONNECT 0x00 deletes the will.
        await client.DisconnectAndWaitAsync();
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientDisconnected), Is.EqualTo(1));
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.EqualTo(1), "the watcher's");
        await watch.ExpectNothingAsync();
    }

    [Test]
    public async Task WillDelay_NormalDisconnect_IsNotPublished_EvenAfterDelay()
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: Will("gone", willDelay: 5, sessionExpiry: 60));

        await client.DisconnectAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(61));

        await watch.ExpectNothingAsync();
    }

    [Test]
    public async Task DisconnectWithWillMessage_PublishesWill()
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone"));

        await client.DisconnectAsync(ReasonCode.DisconnectWithWillMessage);

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [Test]
    public async Task WillDelay_DisconnectWithWillMessage_WaitsForTheDelay()
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: Will("gone", willDelay: 5, sessionExpiry: 60));

        await client.DisconnectAsync(ReasonCode.DisconnectWithWillMessage);
        await client.ExpectClosedAsync();
        broker.Advance(TimeSpan.FromSeconds(4));
        await watch.ExpectNothingAsync();
        broker.Advance(TimeSpan.FromSeconds(1));

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task KeepAliveTimeout_ClosesAndPublishesWill(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version);
        PipeClient client = await broker.ConnectAsync("c", version, configure: Will("gone", keepAlive: 2));

        // One and a half keep alive periods (3 s) of silence are allowed [MQTT-3.1.2-24].
        broker.Advance(TimeSpan.FromSeconds(3));
        await watch.ExpectNothingAsync();
        broker.Advance(TimeSpan.FromSeconds(1));

        await client.ExpectClosedWithAsync(ReasonCode.KeepAliveTimeout);

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task WillRetain_IsStoredAsRetainedMessage(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version);
        PipeClient client = await broker.ConnectAsync("c", version, configure: Will("gone", retain: true));

        await client.DropAsync();
        Assert.That((await watch.ExpectPublishAsync(WillTopic, "gone")).Retain, Is.False, "established subscription: RETAIN 0");
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.EqualTo(1));

        PipeClient late = await broker.ConnectAsync("late", version);
        await late.SubscribeAsync(WillTopic);
        Assert.That((await late.ExpectPublishAsync(WillTopic, "gone")).Retain, Is.True);
    }

    [Test]
    public async Task WillRetain_WhenRetainNotAvailable_ConnectRefusedWith0x9A()
    {
        await using var broker = new TestBroker(o => o.RetainAvailable = false);
        PipeClient client = broker.Open();
        var connect = new ConnectPacket { ClientId = "c", ProtocolVersion = ProtocolVersion.V500 };
        Will("gone", retain: true)(connect);

        ConnAckPacket ack = await client.SendConnectAsync(connect);

        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.RetainNotSupported), "[MQTT-3.2.2-13]");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task WillTopicUnderSys_ConnectRefusedNotAuthorized(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient client = broker.Open(version);
        var connect = new ConnectPacket { ClientId = "c", ProtocolVersion = version };
        Will("fake", retain: true)(connect);
        connect.Will!.Topic = "$SYS/brokers/x/version"u8.ToArray();

        ConnAckPacket ack = await client.SendConnectAsync(connect);

        // Otherwise a client could write to $SYS, which PUBLISH does not allow, by dropping its connection.
        Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.NotAuthorized));
        Assert.That(broker.Broker.Retained.Count, Is.Zero);
    }

    [Test]
    public async Task WillDelay_PublishedOnlyAfterDelay()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 5, sessionExpiry: 60));

        await client.DropAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(4));
        await watch.ExpectNothingAsync();

        broker.Advance(TimeSpan.FromSeconds(1));
        await watch.ExpectPublishAsync(WillTopic, "gone");
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Not.Null, "the session outlives the will");
    }

    [Test]
    public async Task WillDelay_SessionResumedWithinDelay_WillNotPublished()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 5, sessionExpiry: 60));

        await client.DropAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(2));
        PipeClient again = await broker.ConnectAsync("c", cleanStart: false, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 60 });
        Assert.That(again.ConnAck!.SessionPresent, Is.True);

        // [MQTT-3.1.3-9]: a new connection to the session before the delay cancels the will.
        broker.Advance(TimeSpan.FromSeconds(10));
        await watch.ExpectNothingAsync();
    }

    [Test]
    public async Task WillDelay_ElapsedBetweenHousekeepingTicks_ReconnectDoesNotCancelIt()
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        broker.Advance(TimeSpan.FromMilliseconds(500));
        PipeClient client = await broker.ConnectAsync("c", cleanStart: false, configure: Will("gone", willDelay: 5, sessionExpiry: 60));
        await client.DropAndWaitAsync();

        // Dropped at 0.5 s with a 5 s delay; the sweep last runs at 5.2 s. At 5.7 s the delay has elapsed, so the
        // reconnect comes too late to cancel the will [MQTT-3.1.3-9].
        broker.Advance(TimeSpan.FromMilliseconds(4_700));
        broker.Advance(TimeSpan.FromMilliseconds(500));
        await broker.ConnectPersistentAsync("c", sessionExpiry: 60);

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [Test]
    public async Task WillDelay_ReconnectWithCleanStart_EndsSession_WillPublishedAtOnce()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 30, sessionExpiry: 60));

        await client.DropAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(2));
        await watch.ExpectNothingAsync();

        // Clean Start discards the old session [MQTT-3.1.2-4], and a session ending publishes its will [MQTT-3.1.2-8].
        PipeClient again = await broker.ConnectAsync("c", cleanStart: true);
        Assert.That(again.ConnAck!.SessionPresent, Is.False);
        await watch.ExpectPublishAsync(WillTopic, "gone");
        broker.Advance(TimeSpan.FromSeconds(30));
        await watch.ExpectNothingAsync();
    }

    [Test]
    public async Task WillDelay_LongerThanSessionExpiry_PublishedWhenSessionEnds()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 30, sessionExpiry: 3));

        await client.DropAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(2));
        await watch.ExpectNothingAsync();

        broker.Advance(TimeSpan.FromSeconds(1));
        await watch.ExpectPublishAsync(WillTopic, "gone");
        Assert.That(broker.Broker.Sessions.Find("c"), Is.Null);
        PipeClient again = await broker.ConnectAsync("c", cleanStart: false);
        Assert.That(again.ConnAck!.SessionPresent, Is.False, "the session expired with the will");
    }

    [Test]
    public async Task WillDelay_WithSessionExpiryZero_PublishedOnClose()
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 30));

        await client.DropAsync();

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [Test]
    public async Task WillProperties_ArePassedThrough_AndExpiryCountsFromPublication()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        var properties = new MqttProperties
        {
            PayloadFormatIndicator = 1,
            ContentType = "text/plain",
            ResponseTopic = "reply/c",
            CorrelationData = [1, 2, 3],
            MessageExpiryInterval = 30,
            WillDelayInterval = 5,
        };
        properties.AddUserProperty("k", "v");
        properties.AddUserProperty("k", "w");
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone", properties: properties, sessionExpiry: 60));

        await client.DropAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(5));

        PublishModel will = await watch.ExpectPublishAsync(WillTopic, "gone");
        MqttProperties? received = ReceivedProperties.Of(will);
        Assert.That(received, Is.Not.Null);
        Assert.That(received!.PayloadFormatIndicator, Is.EqualTo((byte)1));
        Assert.That(received.ContentType, Is.EqualTo("text/plain"));
        Assert.That(received.ResponseTopic, Is.EqualTo("reply/c"));
        Assert.That(received.CorrelationData, Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(received.UserProperties, Is.EqualTo(new[] { new UserProperty("k", "v"), new UserProperty("k", "w") }), "[MQTT-3.3.2-18] order kept");
        Assert.That(received.WillDelayInterval, Is.Null, "Will Delay Interval is not a PUBLISH property");

        // The will's Message Expiry Interval counts from its publication, not from CONNECT (5.0 section 3.1.3.2.4).
        Assert.That(will.HasMessageExpiry, Is.True);
        Assert.That(will.MessageExpiryInterval, Is.EqualTo(30));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Kick_ClosesConnectionAndPublishesWill(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version);
        PipeClient client = await broker.ConnectAsync("c", version, configure: Will("gone"));

        Assert.That(broker.Broker.Kick("c"), Is.True);
        Assert.That(broker.Broker.Kick("nobody"), Is.False);

        await client.ExpectClosedWithAsync(ReasonCode.AdministrativeAction);

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public async Task Takeover_PublishesOldConnectionsWill(ProtocolVersion version)
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, version);
        PipeClient first = await broker.ConnectAsync("c", version, cleanStart: false, configure: Will("first gone"));

        PipeClient second = await broker.ConnectAsync("c", version, cleanStart: false);

        await first.ExpectClosedWithAsync(ReasonCode.SessionTakenOver);

        await watch.ExpectPublishAsync(WillTopic, "first gone");
        await second.DisconnectAsync();
        await watch.ExpectNothingAsync();
    }

    [Test]
    public async Task Takeover_ResumingSessionWithinWillDelay_WillNotPublished()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient first = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 5, sessionExpiry: 60));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: false, configure: c => c.Properties = new MqttProperties { SessionExpiryInterval = 60 });
        Assert.That(second.ConnAck!.SessionPresent, Is.True);
        await first.ExpectClosedAsync();

        broker.Advance(TimeSpan.FromSeconds(10));
        await watch.ExpectNothingAsync();
    }

    [Test]
    public async Task Takeover_WithCleanStart_EndsSession_DelayedWillPublished()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient first = await broker.ConnectAsync("c", configure: Will("gone", willDelay: 30, sessionExpiry: 60));

        PipeClient second = await broker.ConnectAsync("c", cleanStart: true);
        Assert.That(second.ConnAck!.SessionPresent, Is.False);
        await first.ExpectClosedAsync();

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    [Test]
    public async Task ProtocolError_PublishesWill()
    {
        await using var broker = new TestBroker();
        PipeClient watch = await WatchAsync(broker, ProtocolVersion.V500);
        PipeClient client = await broker.ConnectAsync("c", configure: Will("gone"));

        // A second CONNECT is a protocol error [MQTT-3.1.0-2]; the server closes without a normal DISCONNECT.
        await client.SendAsync(CodecDriver.Encode(new ConnectPacket { ClientId = "c", ProtocolVersion = ProtocolVersion.V500 }, ProtocolVersion.V500));
        Assert.That((await client.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));

        await watch.ExpectPublishAsync(WillTopic, "gone");
    }

    private static async Task<PipeClient> WatchAsync(TestBroker broker, ProtocolVersion version, QualityOfService qos = QualityOfService.AtMostOnce)
    {
        PipeClient watch = await broker.ConnectAsync("watch", version);
        await watch.SubscribeAsync("will/#", qos);
        return watch;
    }

    private static Action<ConnectPacket> Will(
        string payload,
        QualityOfService qos = QualityOfService.AtMostOnce,
        bool retain = false,
        uint? willDelay = null,
        uint? sessionExpiry = null,
        ushort keepAlive = 0,
        MqttProperties? properties = null)
        => connect =>
        {
            if (willDelay is { } delay)
            {
                (properties ??= new MqttProperties()).WillDelayInterval = delay;
            }

            connect.Will = new WillMessage
            {
                Topic = Encoding.UTF8.GetBytes(WillTopic),
                Payload = Encoding.UTF8.GetBytes(payload),
                QoS = qos,
                Retain = retain,
                Properties = properties,
            };
            connect.KeepAlive = keepAlive;
            if (sessionExpiry is { } expiry)
            {
                connect.Properties = new MqttProperties { SessionExpiryInterval = expiry };
            }
        };
}
