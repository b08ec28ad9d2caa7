using System.Text;
using Broker.Core.Metrics;

namespace Broker.Tests.Metrics;

[TestFixture]
public sealed class CounterNamesTests
{
    // Copied from the GET /api/metrics example body in spec/v4-http-api.md (the table lists the same 82 names).
    // Kept literal, in the example's order, so that a counter missing from CounterId fails here.
    private static readonly string[] s_specNames =
    [
        "messages.dropped.no_subscribers",
        "packets.connack.sent",
        "bytes.received",
        "messages.received",
        "packets.unsuback.sent",
        "messages.delivered",
        "client.disconnected",
        "packets.puback.sent",
        "packets.subscribe.auth_error",
        "delivery.dropped.queue_full",
        "messages.forward",
        "delivery.dropped.qos0_msg",
        "delivery.dropped.expired",
        "bytes.sent",
        "messages.sent",
        "delivery.dropped.no_local",
        "packets.pubrec.received",
        "packets.pubcomp.received",
        "client.check_acl",
        "packets.puback.received",
        "session.takeovered",
        "messages.dropped.expired",
        "actions.success",
        "messages.qos1.sent",
        "messages.retained",
        "packets.pubcomp.inuse",
        "packets.pubrec.sent",
        "packets.received",
        "messages.acked",
        "session.terminated",
        "packets.sent",
        "packets.unsubscribe.error",
        "client.connect",
        "packets.pubrec.missed",
        "packets.auth.sent",
        "packets.disconnect.received",
        "messages.qos2.sent",
        "client.auth.anonymous",
        "packets.auth.received",
        "packets.unsubscribe.received",
        "packets.publish.auth_error",
        "client.connected",
        "rules.matched",
        "packets.disconnect.sent",
        "session.created",
        "packets.pingreq.received",
        "messages.dropped",
        "actions.failure",
        "packets.publish.sent",
        "session.resumed",
        "packets.connack.auth_error",
        "packets.pubrel.sent",
        "delivery.dropped",
        "packets.pubcomp.sent",
        "messages.qos2.received",
        "messages.qos0.received",
        "packets.publish.inuse",
        "client.unsubscribe",
        "packets.pubrel.received",
        "client.connack",
        "packets.connack.error",
        "packets.publish.dropped",
        "packets.publish.received",
        "client.subscribe",
        "packets.subscribe.error",
        "packets.suback.sent",
        "packets.pubcomp.missed",
        "messages.qos1.received",
        "delivery.dropped.too_large",
        "packets.pingresp.sent",
        "packets.pubrel.missed",
        "messages.qos0.sent",
        "packets.connect.received",
        "packets.puback.missed",
        "packets.subscribe.received",
        "packets.puback.inuse",
        "client.authenticate",
        "messages.publish",
        "packets.pubrec.inuse",
        "packets.publish.error",
        "messages.delayed",
        "session.discarded",
    ];

    // Copied from the GET api/v3/metrics example body in spec/v3-rest-api.rst.
    private static readonly string[] s_v3SpecNames =
    [
        "bytes/received", "packets/pubrel/sent", "packets/pubcomp/missed", "packets/sent", "packets/pubrel/received",
        "messages/qos1/received", "packets/publish/received", "packets/auth", "messages/qos0/received",
        "packets/pubcomp/received", "packets/unsuback", "packets/pubrec/missed", "messages/qos1/sent",
        "messages/qos2/sent", "bytes/sent", "messages/received", "messages/dropped", "messages/qos2/received",
        "packets/connect", "messages/qos0/sent", "packets/disconnect/received", "packets/pubrec/sent",
        "packets/publish/sent", "packets/pubrec/received", "packets/received", "packets/unsubscribe",
        "packets/subscribe", "packets/disconnect/sent", "packets/pingresp", "messages/qos2/dropped",
        "packets/puback/missed", "packets/pingreq", "packets/connack", "packets/pubrel/missed", "messages/sent",
        "packets/suback", "messages/retained", "packets/puback/sent", "packets/puback/received",
        "messages/qos2/expired", "messages/forward", "messages/expired", "packets/pubcomp/sent",
    ];

    // EMQX 3 names with no EMQX 4 counter (QoS 2 awaiting-PUBREL drops and expiries).
    private static readonly string[] s_v3OnlyNames = ["messages/qos2/dropped", "messages/qos2/expired"];

    [Test]
    public void CounterId_IsDenseAndMatchesCount()
    {
        CounterId[] values = Enum.GetValues<CounterId>();

        Assert.That(values, Has.Length.EqualTo(CounterNames.Count));
        Assert.That(values.Select(v => (int)v), Is.EqualTo(Enumerable.Range(0, CounterNames.Count)));
    }

    [Test]
    public void SpecNames_AreDistinctAndCoverEveryCounter()
    {
        Assert.That(s_specNames, Is.Unique);
        Assert.That(s_specNames, Has.Length.EqualTo(CounterNames.Count));
        Assert.That(Enum.GetValues<CounterId>().Select(CounterNames.GetName), Is.EquivalentTo(s_specNames));
    }

    [TestCaseSource(nameof(s_specNames))]
    public void TryParse_SpecName_RoundTrips(string name)
    {
        Assert.That(CounterNames.TryParse(name, out CounterId id), Is.True);
        Assert.That(CounterNames.GetName(id), Is.EqualTo(name));
        Assert.That(id.ToString(), Is.EqualTo(PascalCase(name)), "member name is the PascalCase of the dotted name");
    }

    [TestCaseSource(nameof(s_specNames))]
    public void TryParse_SlashForm_ParsesToSameCounter(string name)
    {
        Assert.That(CounterNames.TryParse(name, out CounterId expected), Is.True);

        Assert.That(CounterNames.TryParse(name.Replace('.', '/'), out CounterId id), Is.True);
        Assert.That(id, Is.EqualTo(expected));
    }

    [TestCase(CounterId.PacketsPublishReceived, "packets/publish/received")]
    [TestCase(CounterId.BytesReceived, "bytes/received")]
    [TestCase(CounterId.MessagesQos2Received, "messages/qos2/received")]
    [TestCase(CounterId.PacketsDisconnectReceived, "packets/disconnect/received")]
    [TestCase(CounterId.DeliveryDroppedQos0Msg, "delivery/dropped/qos0_msg")] // v4-only: plain slash form
    [TestCase(CounterId.SessionTakeovered, "session/takeovered")]
    // EMQX 3 named these without direction (spec/v3-rest-api.rst, GET api/v3/metrics).
    [TestCase(CounterId.PacketsConnectReceived, "packets/connect")]
    [TestCase(CounterId.PacketsConnackSent, "packets/connack")]
    [TestCase(CounterId.PacketsSubscribeReceived, "packets/subscribe")]
    [TestCase(CounterId.PacketsSubackSent, "packets/suback")]
    [TestCase(CounterId.PacketsUnsubscribeReceived, "packets/unsubscribe")]
    [TestCase(CounterId.PacketsUnsubackSent, "packets/unsuback")]
    [TestCase(CounterId.PacketsPingreqReceived, "packets/pingreq")]
    [TestCase(CounterId.PacketsPingrespSent, "packets/pingresp")]
    [TestCase(CounterId.PacketsAuthReceived, "packets/auth")]
    [TestCase(CounterId.MessagesDroppedExpired, "messages/expired")]
    public void GetV3Name_IsSlashName(CounterId id, string expected)
    {
        Assert.That(CounterNames.GetV3Name(id), Is.EqualTo(expected));
        Assert.That(CounterNames.TryParse(expected, out CounterId parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(id));
    }

    [Test]
    public void GetV3Name_CoversEveryNameOfTheV3Example()
    {
        string[] v3Names = Enum.GetValues<CounterId>().Select(CounterNames.GetV3Name).ToArray();

        Assert.That(v3Names, Is.Unique);
        Assert.That(v3Names, Is.SupersetOf(s_v3SpecNames.Except(s_v3OnlyNames)));
        Assert.That(v3Names, Has.None.Contain('.'));
    }

    [TestCase("")]
    [TestCase("packets")]
    [TestCase("packets.publish")]
    [TestCase("Packets.Publish.Received")] // names are case-sensitive, as in EMQX
    [TestCase("packets.publish.received ")]
    [TestCase("packets\\publish\\received")]
    [TestCase("messages/qos2/dropped")] // v3 only, see s_v3OnlyNames
    [TestCase("messages/qos2/expired")]
    [TestCase(null)]
    public void TryParse_UnknownName_ReturnsFalse(string? name)
    {
        Assert.That(CounterNames.TryParse(name, out CounterId id), Is.False);
        Assert.That(id, Is.EqualTo(default(CounterId)));
    }

    [Test]
    public void GetName_UndefinedId_Throws()
    {
        Assert.That(() => CounterNames.GetName((CounterId)CounterNames.Count), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => CounterNames.GetV3Name((CounterId)(-1)), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void GetName_ReturnsTheSameInstanceEveryTime()
    {
        string first = CounterNames.GetName(CounterId.BytesSent);
        string firstV3 = CounterNames.GetV3Name(CounterId.BytesSent);

        Assert.That(CounterNames.GetName(CounterId.BytesSent), Is.SameAs(first));
        Assert.That(CounterNames.GetV3Name(CounterId.BytesSent), Is.SameAs(firstV3));
    }

    private static string PascalCase(string dotted)
    {
        var builder = new StringBuilder(dotted.Length);
        foreach (string part in dotted.Split('.', '_'))
        {
            builder.Append(char.ToUpperInvariant(part[0])).Append(part.AsSpan(1));
        }

        return builder.ToString();
    }
}
