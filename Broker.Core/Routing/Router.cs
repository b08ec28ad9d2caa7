using Broker.Core.Configuration;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Core.Topics;

namespace Broker.Core.Routing;

/// <summary>
/// Publish to matching sessions: one trie walk, overlapping subscriptions of one session merged into one delivery at
/// the highest QoS with every subscription identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3], one member picked per share group.
/// </summary>
internal sealed class Router
{
    [ThreadStatic]
    private static List<MatchedSession>? t_matches;

    [ThreadStatic]
    private static Dictionary<Session, int>? t_index;

    private const int LinearSearchLimit = 16;

    private readonly MqttBroker _broker;

    public Router(MqttBroker broker)
    {
        _broker = broker;
    }

    public TopicTrie<Session, SubscriptionOptions> Trie { get; } = new();

    /// <summary>
    /// Routes <paramref name="message"/>; returns the number of sessions it was delivered to. Takes over the caller's
    /// reference: each delivery needs one, so the caller's becomes the first and the rest are added at once. The message
    /// must not be touched after its last delivery, which may already have released it.
    /// </summary>
    public int Route(Message message)
    {
        List<MatchedSession> matches = t_matches ??= new List<MatchedSession>(16);
        matches.Clear();
        var visitor = new Collector(this, message, matches);
        Trie.Match(message.TopicBytes, ref visitor);

        int delivered = 0;
        bool ignoreLoop = _broker.Options.IgnoreLoopDeliver;

        // One reference per delivery (Deliver consumes it): the caller's plus the rest in one interlocked add, none
        // for a single subscriber. Every iteration reads the message while it still holds the references of the
        // deliveries to come.
        if (matches.Count == 0)
        {
            message.Release();
        }
        else
        {
            message.AddRef(matches.Count - 1);
        }

        foreach (MatchedSession match in matches)
        {
            if (match.LocalOnly || (ignoreLoop && ReferenceEquals(match.Session, message.Publisher)))
            {
                message.Release();
                _broker.Counters.Increment(CounterId.DeliveryDroppedNoLocal);
                _broker.Counters.Increment(CounterId.DeliveryDropped);
                continue;
            }

            var qos = (QualityOfService)Math.Min((byte)message.QoS, (byte)match.QoS);
            bool retain = match.RetainAsPublished && message.Retain;
            match.Session.Deliver(message, qos, retain, match.SubscriptionIdentifiers, match.SharedGroup);
            delivered++;
        }

        matches.Clear();
        t_index?.Clear();
        return delivered;
    }

    /// <summary>Whether any subscription matches <paramref name="topic"/>: lets $SYS skip building events nobody reads.</summary>
    internal bool HasSubscribers(ReadOnlySpan<byte> topic)
    {
        var probe = default(Probe);
        Trie.Match(topic, ref probe);
        return probe.Found;
    }

    /// <summary>
    /// Hands a shared-subscription message whose member session ended unacknowledged to another member of the same
    /// group, connected ones first; dropped (and counted) when none is left. The orphan's message reference passes to
    /// the new delivery, or is released when it is dropped.
    /// </summary>
    internal void Redispatch(in QueuedMessage orphan)
    {
        SharedGroup<Session, SubscriptionOptions> group = orphan.SharedGroup!;
        Message message = orphan.Message;
        SubscriberList<Session, SubscriptionOptions> members = group.Members;
        int first = PickShared(group, members, message);
        if (first < 0)
        {
            message.Release();
            _broker.Counters.Increment(CounterId.DeliveryDropped);
            return;
        }

        int chosen = first;
        for (int k = 0; k < members.Count; k++)
        {
            if (members[(first + k) % members.Count].Key.IsConnected)
            {
                chosen = (first + k) % members.Count;
                break;
            }
        }

        ref readonly Subscriber<Session, SubscriptionOptions> member = ref members[chosen];
        var qos = (QualityOfService)Math.Min((byte)message.QoS, (byte)member.Value.QoS);
        member.Key.Deliver(message, qos, orphan.Retain, member.Value.SubscriptionIdentifiers, group);
    }

    private int PickShared(SharedGroup<Session, SubscriptionOptions> group, SubscriberList<Session, SubscriptionOptions> members, Message message)
    {
        SharedSubscriptionStrategy strategy = _broker.Options.SharedSubscriptionStrategy;
        int hash = strategy switch
        {
            SharedSubscriptionStrategy.HashClientId => message.PublisherClientId is { } id ? StringComparer.Ordinal.GetHashCode(id) & int.MaxValue : 0,
            SharedSubscriptionStrategy.HashTopic => HashTopic(message.TopicBytes),
            _ => 0,
        };
        return group.Pick(members, strategy, hash);
    }

    private static int HashTopic(ReadOnlySpan<byte> topic)
    {
        var hash = default(HashCode);
        hash.AddBytes(topic);
        return hash.ToHashCode() & int.MaxValue;
    }

    private struct Probe : ITopicMatchVisitor<Session, SubscriptionOptions>
    {
        public bool Found;

        public void OnSubscriber(Session key, in SubscriptionOptions value) => Found = true;

        public void OnSharedGroup(SharedGroup<Session, SubscriptionOptions> group) => Found = true;
    }

    /// <summary>One session's merged view of the subscriptions that matched.</summary>
    private struct MatchedSession
    {
        public Session Session;
        public QualityOfService QoS;
        /// <summary>Every subscription that matched has No Local and the session published the message [MQTT-3.8.3-3].</summary>
        public bool LocalOnly;
        public bool RetainAsPublished;
        public int[]? SubscriptionIdentifiers;
        public bool Shared;
        public SharedGroup<Session, SubscriptionOptions>? SharedGroup;
    }

    private struct Collector(Router router, Message message, List<MatchedSession> matches) : ITopicMatchVisitor<Session, SubscriptionOptions>
    {
        public readonly void OnSubscriber(Session key, in SubscriptionOptions value) => Add(key, value, group: null);

        public readonly void OnSharedGroup(SharedGroup<Session, SubscriptionOptions> group)
        {
            SubscriberList<Session, SubscriptionOptions> members = group.Members;
            int first = router.PickShared(group, members, message);
            if (first < 0)
            {
                return;
            }

            // Prefer a connected member; an offline one only queues (EMQX dispatches to a live member first).
            for (int k = 0; k < members.Count; k++)
            {
                ref readonly Subscriber<Session, SubscriptionOptions> member = ref members[(first + k) % members.Count];
                if (member.Key.IsConnected)
                {
                    if (k > 0)
                    {
                        group.Stick(member.Key);
                    }

                    Add(member.Key, member.Value, group);
                    return;
                }
            }

            Add(members[first].Key, members[first].Value, group);
        }

        private readonly void Add(Session session, in SubscriptionOptions options, SharedGroup<Session, SubscriptionOptions>? group)
        {
            bool shared = group is not null;
            bool local = options.NoLocal && ReferenceEquals(session, message.Publisher);
            // Overlapping subscriptions of one session make one delivery [MQTT-3.3.4-2]. Only a session with
            // several subscriptions can appear twice, so the common case skips the search altogether.
            if (!shared && session.SubscriptionCount > 1)
            {
                int i = FindExisting(session);
                if (i >= 0)
                {
                    MatchedSession existing = matches[i];
                    if (local)
                    {
                        // A No Local subscription adds nothing to the publisher's own copy, not even its identifier.
                        return;
                    }

                    if (existing.LocalOnly)
                    {
                        matches[i] = Create(session, options, group);
                        return;
                    }

                    if (options.QoS > existing.QoS)
                    {
                        existing.QoS = options.QoS;
                    }

                    existing.RetainAsPublished |= options.RetainAsPublished;
                    existing.SubscriptionIdentifiers = Concat(existing.SubscriptionIdentifiers, options.SubscriptionIdentifiers);
                    matches[i] = existing;
                    return;
                }

                if (matches.Count >= LinearSearchLimit)
                {
                    (t_index ??= new Dictionary<Session, int>(IdentityComparer<Session>.Instance))[session] = matches.Count;
                }
            }

            MatchedSession match = Create(session, options, group);
            match.LocalOnly = local;
            matches.Add(match);
        }

        private static MatchedSession Create(Session session, in SubscriptionOptions options, SharedGroup<Session, SubscriptionOptions>? group) => new()
        {
            Session = session,
            QoS = options.QoS,
            RetainAsPublished = options.RetainAsPublished,
            SubscriptionIdentifiers = options.SubscriptionIdentifiers,
            Shared = group is not null,
            SharedGroup = group,
        };

        private readonly int FindExisting(Session session)
        {
            int linear = Math.Min(matches.Count, LinearSearchLimit);
            for (int i = 0; i < linear; i++)
            {
                if (!matches[i].Shared && ReferenceEquals(matches[i].Session, session))
                {
                    return i;
                }
            }

            Dictionary<Session, int>? index = t_index;
            return matches.Count > LinearSearchLimit && index is not null && index.TryGetValue(session, out int found) ? found : -1;
        }

        private static int[]? Concat(int[]? a, int[]? b)
        {
            if (b is null)
            {
                return a;
            }

            if (a is null)
            {
                return b;
            }

            var result = new int[a.Length + b.Length];
            a.CopyTo(result, 0);
            b.CopyTo(result, a.Length);
            return result;
        }
    }
}
