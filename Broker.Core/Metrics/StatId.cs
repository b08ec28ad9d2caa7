namespace Broker.Core.Metrics;

/// <summary>
/// The gauges of EMQX's <c>GET /api/v4/stats</c>. Each is reported twice: <c>&lt;name&gt;.count</c> (current) and
/// <c>&lt;name&gt;.max</c> (high-water mark). Values are dense from 0 to <see cref="StatNames.Count"/> - 1.
/// </summary>
public enum StatId
{
    /// <summary><c>connections</c>: open MQTT connections.</summary>
    Connections,
    /// <summary><c>channels</c>: EMQX reports the session count here; set it alongside <see cref="Sessions"/>.</summary>
    Channels,
    /// <summary><c>sessions</c>: sessions, connected or not.</summary>
    Sessions,
    /// <summary><c>topics</c>: distinct topic filters with at least one subscriber.</summary>
    Topics,
    /// <summary><c>subscribers</c>: subscriber entries, one per topic filter and subscribing session.</summary>
    Subscribers,
    /// <summary><c>subscriptions</c>: subscriptions, including shared ones.</summary>
    Subscriptions,
    /// <summary><c>subscriptions.shared</c>: shared subscriptions (<c>$share/...</c>, <c>$queue/...</c>).</summary>
    SubscriptionsShared,
    /// <summary><c>suboptions</c>: EMQX reports the subscription count here; set it alongside <see cref="Subscriptions"/>.</summary>
    Suboptions,
    /// <summary><c>retained</c>: retained messages stored.</summary>
    Retained,
    /// <summary><c>routes</c>: routing table entries.</summary>
    Routes,
    /// <summary><c>rules</c>: rule engine rules.</summary>
    Rules,
    /// <summary><c>resources</c>: rule engine resources.</summary>
    Resources,
    /// <summary><c>actions</c>: rule engine actions.</summary>
    Actions,
}
