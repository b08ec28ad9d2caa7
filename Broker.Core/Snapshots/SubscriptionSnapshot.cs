using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Snapshots;

/// <summary>One subscription of one session (EMQX's <c>/subscriptions</c>: clientid, topic, qos, node).</summary>
/// <param name="ClientId">The subscriber.</param>
/// <param name="Topic">The filter as subscribed, with its <c>$share/group/</c> or <c>$queue/</c> prefix.</param>
/// <param name="QoS">The granted maximum QoS.</param>
/// <param name="NoLocal">v5 No Local.</param>
/// <param name="RetainAsPublished">v5 Retain As Published.</param>
/// <param name="RetainHandling">v5 Retain Handling.</param>
/// <param name="SubscriptionIdentifier">v5 Subscription Identifier, 0 for none.</param>
public sealed record SubscriptionSnapshot(
    string ClientId,
    string Topic,
    QualityOfService QoS,
    bool NoLocal,
    bool RetainAsPublished,
    RetainHandling RetainHandling,
    int SubscriptionIdentifier);

/// <summary>A route: a topic filter somebody on this node subscribes to (EMQX's <c>/routes</c>: topic, node).</summary>
/// <param name="Topic">The filter, without any share prefix.</param>
/// <param name="Node">The node that has subscribers for it.</param>
public sealed record RouteSnapshot(string Topic, string Node);
