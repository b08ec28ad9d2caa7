using System.Text;
using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Rules;
using Broker.Core.Sessions;
using Broker.Core.Topics;

namespace Broker.Core;

public sealed partial class MqttBroker
{
    /// <summary>
    /// Binds a connected client to its session [MQTT-3.1.2.4]: a live connection with the same id is taken over
    /// (closed with 0x8E), Clean Start discards the old session, otherwise it resumes with its queue and inflight.
    /// </summary>
    internal void AttachSession(MqttConnection connection, ConnAckPacket connAck)
    {
        string clientId = connection.ClientId!;
        if (Sessions.Find(clientId) is { Connection: null } idle)
        {
            // The sweep runs once a second: an expiry or will delay that fell due since must not be resumed or cancelled.
            ExpireIfDue(idle, TimeProvider.GetTimestamp());
        }

        Session session;
        bool present = false;
        Message? discardedWill = null;
        uint discardedWillExpiry = 0;
        lock (Sessions.GetLock(clientId))
        {
            Session? existing = Sessions.Find(clientId);
            if (existing is not null && existing.Connection is { } previous)
            {
                previous.RequestClose(DisconnectReason.TakenOver, ReasonCode.SessionTakenOver);
                if (!connection.CleanStart)
                {
                    // With Clean Start the old session is discarded (counted below), not taken over (EMQX's session.takeovered).
                    Counters.Increment(CounterId.SessionTakeovered);
                }
            }

            if (existing is not null && !connection.CleanStart && !existing.IsTerminated)
            {
                session = existing;
                present = true;
                Counters.Increment(CounterId.SessionResumed);
            }
            else
            {
                if (existing is not null)
                {
                    lock (existing.Sync)
                    {
                        // A delayed will goes out when its session ends, whichever comes first [MQTT-3.1.2.5].
                        discardedWill = existing.PendingWill;
                        discardedWillExpiry = existing.PendingWillExpiryInterval;
                        existing.PendingWill = null;
                    }

                    TerminateLocked(existing);
                    Counters.Increment(CounterId.SessionDiscarded);
                }

                session = new Session(this, clientId, TimeProvider.GetUtcNow());
                Sessions.Set(session);
                Counters.Increment(CounterId.SessionCreated);
            }

            session.ExpiryInterval = connection.SessionExpiryInterval;
            // 3.1 has no Session Present flag: that CONNACK byte is reserved and must stay 0 (mosquitto does the same).
            connAck.SessionPresent = present && connection.Version != ProtocolVersion.V310;
            connection.OnAttached(session, connAck);
            session.Attach(connection);
            if (_persistence is not null)
            {
                SaveSession(session, 0);
            }
            Stats.Set(StatId.Sessions, Sessions.Count);
            Stats.Set(StatId.Channels, Sessions.Count);
        }

        // EMQX counts a connection once its CONNECT is accepted, not while it is still a bare socket.
        Stats.Increment(StatId.Connections);

        if (discardedWill is not null)
        {
            PublishWill(discardedWill, discardedWillExpiry);
        }

        Counters.Increment(CounterId.ClientConnected);
        BrokerLog.ClientConnected(Logger, clientId, connection.Version, connection.CleanStart, present);
        _sys.ClientConnected(connection);
        if (Rules.Has(RuleEventKind.ClientConnected))
        {
            Rules.OnClientConnected(connection);
        }
    }

    /// <summary>Ends a session: its subscriptions leave the trie, its queue is dropped.</summary>
    private void TerminateLocked(Session session)
    {
        DiscardPersistedSession(session);
        var orphans = new List<QueuedMessage>();
        foreach (SubscriptionEntry entry in session.Terminate(orphans))
        {
            RemoveRoute(session, entry);
        }

        // Its routes are gone, so each group now picks among the remaining members.
        foreach (QueuedMessage orphan in orphans)
        {
            _router.Redispatch(orphan);
        }

        Sessions.Remove(session);
        Counters.Increment(CounterId.SessionTerminated);
        Stats.Set(StatId.Sessions, Sessions.Count);
        Stats.Set(StatId.Channels, Sessions.Count);
    }

    /// <summary>After a connection ends: detach or end its session, and publish or schedule its will [MQTT-3.1.2-8].</summary>
    internal void OnConnectionClosed(MqttConnection connection, DisconnectReason reason)
    {
        Session? session = connection.Session;
        if (session is null)
        {
            return;
        }

        Stats.Decrement(StatId.Connections);
        Counters.Increment(CounterId.ClientDisconnected);
        BrokerLog.ClientDisconnected(Logger, connection.ClientId!, reason);
        if (Rules.Has(RuleEventKind.ClientDisconnected))
        {
            Rules.OnClientDisconnected(connection, reason);
        }

        long now = TimeProvider.GetTimestamp();
        uint expiry = connection.SessionExpiryInterval;
        bool detached;
        bool sessionEnds;
        bool discarded;
        lock (Sessions.GetLock(session.ClientId))
        {
            long expiresAt = expiry == uint.MaxValue ? long.MaxValue : now + (expiry * TimeProvider.TimestampFrequency);
            detached = session.Detach(connection, expiresAt);
            if (detached)
            {
                // DISCONNECT may have changed it [MQTT-3.14.2.2.2].
                session.ExpiryInterval = expiry;
            }

            // A kick discards the session, as EMQX does, whatever its expiry interval.
            sessionEnds = detached && (expiry == 0 || reason == DisconnectReason.Kicked);
            discarded = !detached && session.IsTerminated;
            if (sessionEnds)
            {
                TerminateLocked(session);
            }
            else if (detached && _persistence is not null)
            {
                SaveSession(session, expiresAt);
            }
        }

        Message? will = connection.Will;
        bool publishWill = will is not null
            && reason is not (DisconnectReason.ClientDisconnect or DisconnectReason.ServerShutdown);
        if (publishWill)
        {
            uint delay = connection.WillDelayInterval;
            // A Clean Start takeover has already ended the session, so the will waits no longer [MQTT-3.1.2.5].
            if (delay == 0 || sessionEnds || discarded)
            {
                PublishWill(will!, connection.WillExpiryInterval);
            }
            else if (detached)
            {
                // Published after the delay or when the session ends, whichever is first; a reconnect cancels it [MQTT-3.1.3-9].
                uint wait = Math.Min(delay, expiry);
                lock (session.Sync)
                {
                    session.PendingWill = WithExpiry(will!, connection.WillExpiryInterval, 0);
                    session.PendingWillAt = now + (wait * TimeProvider.TimestampFrequency);
                    session.PendingWillExpiryInterval = connection.WillExpiryInterval;
                }
            }
        }

        _sys.ClientDisconnected(connection, reason);
        DetectFlapping(connection, reason);
    }

    private void PublishWill(Message will, uint expiryInterval)
    {
        PublishInternal(WithExpiry(will, expiryInterval, TimeProvider.GetTimestamp()));
    }

    private Message WithExpiry(Message will, uint expiryInterval, long from)
    {
        if (expiryInterval == 0 || from == 0)
        {
            return will;
        }

        return new Message(will.TopicBytes, will.Payload, will.QoS, will.Retain, will.Properties)
        {
            PublisherClientId = will.PublisherClientId,
            PublisherUserName = will.PublisherUserName,
            ExpiresAt = from + (expiryInterval * TimeProvider.TimestampFrequency),
            Timestamp = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
        };
    }

    /// <summary>
    /// A PUBLISH from a client, after validation: delayed, retained and routed. Returns the sessions reached. Takes over
    /// the caller's reference to <paramref name="message"/>.
    /// </summary>
    internal int PublishFromClient(Message message, ReadOnlySpan<byte> topic)
    {
        if (topic.StartsWith("$SYS/"u8))
        {
            // $SYS belongs to the broker; clients cannot publish there (mosquitto drops these too).
            message.Release();
            Counters.Increment(CounterId.PacketsPublishError);
            return 0;
        }

        Counters.Increment(CounterId.MessagesPublish);
        if (DelayedPublisher.IsDelayed(topic) && Options.DelayedPublishEnabled)
        {
            // The target is checked like any topic a client publishes to, $SYS included.
            if (!DelayedPublisher.TryParse(topic, out uint seconds, out ReadOnlySpan<byte> target) || !TopicValidator.IsValidTopicName(target, Options.MaximumTopicLevels)
                || target.StartsWith("$SYS/"u8))
            {
                message.Release();
                Counters.Increment(CounterId.PacketsPublishError);
                return 0;
            }

            // The delayed publisher holds an unpooled copy for the whole delay.
            _delayed.Schedule(message.With(target, message.QoS, message.Retain), seconds);
            message.Release();
            return 1;
        }

        return PublishInternal(message);
    }

    /// <summary>
    /// Retains (if flagged) and routes; counts a message nobody receives as dropped. Takes over the caller's reference
    /// (nothing to take for the unpooled messages of wills, $delayed, $SYS and the public API).
    /// </summary>
    internal int PublishInternal(Message message)
    {
        if (message.Retain && Options.RetainerEnabled)
        {
            // The store keeps an unpooled copy.
            Retained.Set(message);
        }

        bool isSystem = message.IsSystem;

        // With no rule this is the rule engine's whole cost: one volatile read. EMQX's rules ignore $SYS messages.
        int rules = Rules.ActiveMask;
        if (rules != 0 && !isSystem && !message.FromRule)
        {
            return RouteWithRules(message, rules);
        }

        int delivered = _router.Route(message);

        // EMQX does not count its own $SYS messages as dropped (emqx_broker:inc_dropped_cnt).
        if (delivered == 0 && !isSystem)
        {
            Counters.Increment(CounterId.MessagesDroppedNoSubscribers);
            Counters.Increment(CounterId.MessagesDropped);
        }

        return delivered;
    }

    private int RouteWithRules(Message message, int rules)
    {
        if ((rules & (1 << (int)RuleEventKind.MessagePublish)) != 0)
        {
            Rules.OnMessagePublish(message);
        }

        // Routing may release the message; a message_dropped rule reads it afterwards, so it holds a reference.
        bool holdForDropped = (rules & (1 << (int)RuleEventKind.MessageDropped)) != 0;
        if (holdForDropped)
        {
            message.AddRef();
        }

        int delivered = _router.Route(message);
        if (delivered == 0)
        {
            Counters.Increment(CounterId.MessagesDroppedNoSubscribers);
            Counters.Increment(CounterId.MessagesDropped);
            if (holdForDropped)
            {
                Rules.OnMessageDropped(message, "no_subscribers");
            }
        }

        if (holdForDropped)
        {
            message.Release();
        }

        return delivered;
    }

    /// <summary>A rule's republish (<see cref="Message.FromRule"/>): routed and retained as any message, no rule runs on it.</summary>
    internal int PublishFromRule(Message message)
    {
        Counters.Increment(CounterId.MessagesPublish);
        return PublishInternal(message);
    }

    /// <summary>Adds or replaces one subscription; returns the SUBACK reason code [MQTT-3.8.4].</summary>
    internal ReasonCode Subscribe(Session session, TopicSubscription subscription, int subscriptionId, out SubscriptionEntry? entry, out bool isNew)
    {
        entry = null;
        isNew = false;
        string filter = subscription.TopicFilter;
        byte[] filterBytes = Encoding.UTF8.GetBytes(filter);
        SharedParseResult shared = TopicValidator.ParseShared(filterBytes, out ReadOnlySpan<byte> group, out ReadOnlySpan<byte> topicFilter);
        if (shared == SharedParseResult.Invalid)
        {
            return ReasonCode.TopicFilterInvalid;
        }

        if (shared == SharedParseResult.NotShared)
        {
            topicFilter = filterBytes;
        }
        else if (!Options.SharedSubscriptionAvailable)
        {
            return ReasonCode.SharedSubscriptionsNotSupported;
        }

        if (!TopicValidator.IsValidTopicFilter(topicFilter, Options.MaximumTopicLevels))
        {
            return ReasonCode.TopicFilterInvalid;
        }

        if (!Options.WildcardSubscriptionAvailable && TopicValidator.HasWildcards(topicFilter))
        {
            return ReasonCode.WildcardSubscriptionsNotSupported;
        }

        if (Options.MaximumSubscriptions > 0 && session.SubscriptionCount >= Options.MaximumSubscriptions && !session.HasSubscription(filter))
        {
            return ReasonCode.QuotaExceeded;
        }

        var qos = (QualityOfService)Math.Min((byte)subscription.QoS, (byte)Options.MaximumQoS);
        var options = new SubscriptionOptions(qos, subscription.NoLocal, subscription.RetainAsPublished, subscription.RetainHandling, subscriptionId);
        string? groupName = shared == SharedParseResult.Shared ? Encoding.UTF8.GetString(group) : null;
        entry = new SubscriptionEntry(filter, shared == SharedParseResult.Shared ? Encoding.UTF8.GetString(topicFilter) : filter, groupName, options);
        // The record and the route change together under the session's lock, so a session terminated meanwhile
        // (taken over with Clean Start, expired) either unroutes this subscription or never gets it.
        lock (session.Sync)
        {
            if (session.IsTerminated)
            {
                entry = null;
                return ReasonCode.UnspecifiedError;
            }

            isNew = session.SetSubscription(entry) is null;
            _router.Trie.Subscribe(topicFilter, group, session, options);
        }

        if (isNew)
        {
            UpdateSubscriptionStats();
        }

        if (_persistence is not null)
        {
            SaveSession(session, session.ExpiresAt);
        }

        return (ReasonCode)(byte)qos;
    }

    /// <summary>Whether a SUBSCRIBE or UNSUBSCRIBE filter is well-formed, share prefix included.</summary>
    internal bool IsValidFilter(string filter)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(filter);
        SharedParseResult shared = TopicValidator.ParseShared(bytes, out _, out ReadOnlySpan<byte> topicFilter);
        return shared != SharedParseResult.Invalid
            && TopicValidator.IsValidTopicFilter(shared == SharedParseResult.Shared ? topicFilter : bytes, Options.MaximumTopicLevels);
    }

    /// <summary>Removes one subscription; false if the session had none for that filter.</summary>
    internal bool Unsubscribe(Session session, string filter)
    {
        lock (session.Sync)
        {
            SubscriptionEntry? entry = session.RemoveSubscription(filter);
            if (entry is null)
            {
                return false;
            }

            RemoveRoute(session, entry);
        }

        if (_persistence is not null)
        {
            SaveSession(session, session.ExpiresAt);
        }

        return true;
    }

    private void RemoveRoute(Session session, SubscriptionEntry entry)
    {
        byte[] topicFilter = Encoding.UTF8.GetBytes(entry.TopicFilter);
        byte[] group = entry.ShareGroup is null ? [] : Encoding.UTF8.GetBytes(entry.ShareGroup);
        _router.Trie.Unsubscribe(topicFilter, group, session);
        UpdateSubscriptionStats();
    }

    private void UpdateSubscriptionStats()
    {
        var trie = _router.Trie;
        Stats.Set(StatId.Subscriptions, trie.SubscriptionCount);
        Stats.Set(StatId.Suboptions, trie.SubscriptionCount);
        Stats.Set(StatId.SubscriptionsShared, trie.SharedSubscriptionCount);
        Stats.Set(StatId.Subscribers, trie.SubscriptionCount - trie.SharedSubscriptionCount);
        Stats.Set(StatId.Topics, trie.FilterCount);
        Stats.Set(StatId.Routes, trie.FilterCount);
    }

    /// <summary>Retained messages for a new subscription, per Retain Handling [MQTT-3.3.1-9], [MQTT-3.8.4-4].</summary>
    internal void DeliverRetained(Session session, SubscriptionEntry entry, bool isNew)
    {
        SubscriptionOptions options = entry.Options;
        if (options.RetainHandling == RetainHandling.DoNotSend || (options.RetainHandling == RetainHandling.SendOnNewSubscribe && !isNew))
        {
            return;
        }

        foreach (Message message in Retained.Match(entry.TopicFilter))
        {
            var qos = (QualityOfService)Math.Min((byte)message.QoS, (byte)options.QoS);
            // Retained messages are unpooled (the store copies), but Deliver consumes a reference all the same.
            message.AddRef();
            session.Deliver(message, qos, retain: true, options.SubscriptionIdentifiers);
        }
    }
}
