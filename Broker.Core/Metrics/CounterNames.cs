using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Broker.Core.Metrics;

/// <summary>
/// The EMQX names of the <see cref="CounterId"/> counters: v4 dotted names (<c>packets.publish.received</c>) and the
/// v3 REST API's slash names (<c>packets/publish/received</c>). All names are built once, so lookups never allocate.
/// </summary>
/// <remarks>
/// v3 names are the v4 names with <c>/</c> for <c>.</c>, except where <c>spec/v3-rest-api.rst</c> (GET api/v3/metrics)
/// shows EMQX 3's shorter name: <c>packets/connect</c>, <c>packets/connack</c>, <c>packets/subscribe</c>,
/// <c>packets/suback</c>, <c>packets/unsubscribe</c>, <c>packets/unsuback</c>, <c>packets/pingreq</c>,
/// <c>packets/pingresp</c>, <c>packets/auth</c> (received AUTH) and <c>messages/expired</c> (dropped on receipt because
/// expired). Its <c>messages/qos2/dropped</c> and <c>messages/qos2/expired</c> have no v4 counter and are not parsed.
/// </remarks>
public static class CounterNames
{
    /// <summary>The number of <see cref="CounterId"/> values.</summary>
    public const int Count = 82;

    // Indexed by CounterId; the order must match the enum (a test checks each name against its member name).
    private static readonly string[] s_names =
    [
        "actions.failure",
        "actions.success",
        "bytes.received",
        "bytes.sent",
        "client.authenticate",
        "client.auth.anonymous",
        "client.connect",
        "client.connack",
        "client.connected",
        "client.disconnected",
        "client.check_acl",
        "client.subscribe",
        "client.unsubscribe",
        "delivery.dropped.too_large",
        "delivery.dropped.queue_full",
        "delivery.dropped.qos0_msg",
        "delivery.dropped.expired",
        "delivery.dropped.no_local",
        "delivery.dropped",
        "messages.delayed",
        "messages.delivered",
        "messages.dropped",
        "messages.dropped.expired",
        "messages.dropped.no_subscribers",
        "messages.forward",
        "messages.publish",
        "messages.qos0.received",
        "messages.qos1.received",
        "messages.qos2.received",
        "messages.qos0.sent",
        "messages.qos1.sent",
        "messages.qos2.sent",
        "messages.received",
        "messages.sent",
        "messages.retained",
        "messages.acked",
        "packets.received",
        "packets.sent",
        "packets.connect.received",
        "packets.connack.auth_error",
        "packets.connack.error",
        "packets.connack.sent",
        "packets.publish.received",
        "packets.publish.sent",
        "packets.publish.inuse",
        "packets.publish.auth_error",
        "packets.publish.error",
        "packets.publish.dropped",
        "packets.puback.received",
        "packets.puback.sent",
        "packets.puback.inuse",
        "packets.puback.missed",
        "packets.pubrec.received",
        "packets.pubrec.sent",
        "packets.pubrec.inuse",
        "packets.pubrec.missed",
        "packets.pubrel.received",
        "packets.pubrel.sent",
        "packets.pubrel.missed",
        "packets.pubcomp.received",
        "packets.pubcomp.sent",
        "packets.pubcomp.inuse",
        "packets.pubcomp.missed",
        "packets.subscribe.received",
        "packets.subscribe.error",
        "packets.subscribe.auth_error",
        "packets.suback.sent",
        "packets.unsubscribe.received",
        "packets.unsubscribe.error",
        "packets.unsuback.sent",
        "packets.pingreq.received",
        "packets.pingresp.sent",
        "packets.disconnect.received",
        "packets.disconnect.sent",
        "packets.auth.received",
        "packets.auth.sent",
        "rules.matched",
        "session.created",
        "session.discarded",
        "session.resumed",
        "session.takeovered",
        "session.terminated",
    ];

    private static readonly string[] s_v3Names = BuildV3Names();

    // Accepts the v4 name, the plain slash form and the v3 spec's short name, so both API versions parse.
    private static readonly FrozenDictionary<string, CounterId> s_byName = BuildLookup();

    /// <summary>The EMQX v4 name, e.g. <c>packets.publish.received</c>.</summary>
    public static string GetName(CounterId id) => s_names[Index(id)];

    /// <summary>The EMQX v3 REST API name, e.g. <c>packets/publish/received</c> or <c>packets/connect</c>.</summary>
    public static string GetV3Name(CounterId id) => s_v3Names[Index(id)];

    /// <summary>Parses a v4 dotted name or a v3 slash name. Names are case-sensitive, as in EMQX.</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out CounterId id)
    {
        if (name is not null && s_byName.TryGetValue(name, out id))
        {
            return true;
        }

        id = default;
        return false;
    }

    private static int Index(CounterId id)
    {
        if ((uint)id >= Count)
        {
            MetricsThrow.InvalidCounter(id);
        }

        return (int)id;
    }

    private static string[] BuildV3Names()
    {
        string[] v3 = new string[Count];
        for (int i = 0; i < v3.Length; i++)
        {
            v3[i] = V3ShortName(s_names[i]) ?? s_names[i].Replace('.', '/');
        }

        return v3;
    }

    // EMQX 3 counted these packets in one direction only and named them without it (spec/v3-rest-api.rst).
    private static string? V3ShortName(string name) => name switch
    {
        "packets.connect.received" => "packets/connect",
        "packets.connack.sent" => "packets/connack",
        "packets.subscribe.received" => "packets/subscribe",
        "packets.suback.sent" => "packets/suback",
        "packets.unsubscribe.received" => "packets/unsubscribe",
        "packets.unsuback.sent" => "packets/unsuback",
        "packets.pingreq.received" => "packets/pingreq",
        "packets.pingresp.sent" => "packets/pingresp",
        "packets.auth.received" => "packets/auth",
        "messages.dropped.expired" => "messages/expired",
        _ => null,
    };

    private static FrozenDictionary<string, CounterId> BuildLookup()
    {
        Dictionary<string, CounterId> lookup = new(3 * Count, StringComparer.Ordinal);
        for (int i = 0; i < Count; i++)
        {
            lookup.Add(s_names[i], (CounterId)i);
            lookup.TryAdd(s_names[i].Replace('.', '/'), (CounterId)i);
            lookup.TryAdd(s_v3Names[i], (CounterId)i);
        }

        return lookup.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
