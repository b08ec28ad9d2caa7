using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Sessions;

/// <summary>What the trie stores per subscription: the granted QoS and the v5 options [MQTT-3.8.3.1].</summary>
public readonly record struct SubscriptionOptions(
    QualityOfService QoS,
    bool NoLocal = false,
    bool RetainAsPublished = false,
    RetainHandling RetainHandling = RetainHandling.SendOnSubscribe,
    int SubscriptionIdentifier = 0)
{
    /// <summary>The identifier as the one-element array a delivery carries, made once so routing does not allocate it.</summary>
    internal int[]? SubscriptionIdentifiers { get; } = SubscriptionIdentifier == 0 ? null : [SubscriptionIdentifier];
}

/// <summary>A session's record of one of its subscriptions (the trie holds the same, keyed by session).</summary>
/// <param name="Filter">The filter as the client sent it, including a <c>$share/group/</c> or <c>$queue/</c> prefix.</param>
/// <param name="TopicFilter">The filter without the share prefix.</param>
/// <param name="ShareGroup">The share group, or null.</param>
/// <param name="Options">Maximum QoS, No Local, Retain As Published, Retain Handling and Subscription Identifier.</param>
public sealed record SubscriptionEntry(string Filter, string TopicFilter, string? ShareGroup, SubscriptionOptions Options);
