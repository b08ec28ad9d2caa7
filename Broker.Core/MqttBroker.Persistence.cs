using Broker.Core.Persistence;
using Broker.Core.Routing;
using Broker.Core.Sessions;

namespace Broker.Core;

public sealed partial class MqttBroker
{
    /// <summary>
    /// The highest durable sequence that the PUBLISH being routed on this thread wrote (a retained message, a message
    /// queued to a persistent session): its PUBACK/PUBREC waits for it. Routing is synchronous, so the read loop resets
    /// it, routes, and reads it back.
    /// </summary>
    [ThreadStatic]
    private static long t_durableRequired;

    private IBrokerPersistence? _persistence;

    /// <summary>
    /// Where retained messages and persistent sessions are recorded; null (the default) keeps them in memory only.
    /// Set it before the broker serves connections and after restoring (<see cref="RestoreRetained"/>, <see cref="RestoreSession"/>).
    /// </summary>
    public IBrokerPersistence? Persistence
    {
        get => _persistence;
        set => _persistence = value;
    }

    internal static void ResetDurableRequired() => t_durableRequired = 0;

    internal static long DurableRequired => t_durableRequired;

    internal static void RequireDurable(long sequence)
    {
        if (sequence > t_durableRequired)
        {
            t_durableRequired = sequence;
        }
    }

    /// <summary>A timestamp-based expiry as Unix milliseconds (0 stays 0, never).</summary>
    internal long ToUnixMilliseconds(long expiresAt)
    {
        if (expiresAt == 0)
        {
            return 0;
        }

        if (expiresAt == long.MaxValue)
        {
            return long.MaxValue;
        }

        long now = TimeProvider.GetTimestamp();
        long remainingMs = (long)((double)(expiresAt - now) * 1000 / TimeProvider.TimestampFrequency);
        return TimeProvider.GetUtcNow().ToUnixTimeMilliseconds() + remainingMs;
    }

    /// <summary>Unix milliseconds as a timestamp-based expiry (0 stays 0); a time already past is "now".</summary>
    internal long FromUnixMilliseconds(long unixMilliseconds)
    {
        if (unixMilliseconds == 0)
        {
            return 0;
        }

        if (unixMilliseconds == long.MaxValue)
        {
            return long.MaxValue;
        }

        long remainingMs = Math.Max(0, unixMilliseconds - TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        return TimeProvider.GetTimestamp() + (long)(remainingMs / 1000.0 * TimeProvider.TimestampFrequency) + 1;
    }

    /// <summary>Puts a stored retained message back, without writing it again.</summary>
    public void RestoreRetained(Message message, long expiresAtUnixMilliseconds)
    {
        ArgumentNullException.ThrowIfNull(message);
        Message restored = expiresAtUnixMilliseconds == 0 ? message : message.WithExpiresAt(FromUnixMilliseconds(expiresAtUnixMilliseconds));
        Retained.Restore(restored);
    }

    /// <summary>
    /// Puts a stored persistent session back, disconnected: its subscriptions go back in the trie and its messages in
    /// its queue, in order. Its expiry continues from the stored time; a session connected when the broker stopped
    /// expires its interval after now.
    /// </summary>
    public void RestoreSession(PersistedSession stored, IReadOnlyList<PersistedMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(messages);
        var session = new Session(this, stored.ClientId, stored.CreatedAt)
        {
            ExpiryInterval = stored.ExpiryInterval,
            IsPersisted = true,
        };
        long now = TimeProvider.GetTimestamp();
        session.ExpiresAt = stored.ExpiresAtUnixMilliseconds switch
        {
            0 => stored.ExpiryInterval == uint.MaxValue ? long.MaxValue : now + (stored.ExpiryInterval * TimeProvider.TimestampFrequency),
            long at => FromUnixMilliseconds(at),
        };
        lock (Sessions.GetLock(stored.ClientId))
        {
            if (Sessions.Find(stored.ClientId) is not null)
            {
                throw new InvalidOperationException("The session " + stored.ClientId + " exists already.");
            }

            Sessions.Set(session);
        }

        foreach (SubscriptionEntry entry in stored.Subscriptions)
        {
            session.SetSubscription(entry);
            byte[] topicFilter = System.Text.Encoding.UTF8.GetBytes(entry.TopicFilter);
            byte[] group = entry.ShareGroup is null ? [] : System.Text.Encoding.UTF8.GetBytes(entry.ShareGroup);
            _router.Trie.Subscribe(topicFilter, group, session, entry.Options);
        }

        foreach (PersistedMessage message in messages)
        {
            Message restored = message.ExpiresAtUnixMilliseconds == 0
                ? message.Message
                : message.Message.WithExpiresAt(FromUnixMilliseconds(message.ExpiresAtUnixMilliseconds));
            session.RestoreQueued(new QueuedMessage(restored, message.QoS, message.Retain, null, null, message.Id));
        }

        UpdateSubscriptionStats();
        Stats.Set(Metrics.StatId.Sessions, Sessions.Count);
        Stats.Set(Metrics.StatId.Channels, Sessions.Count);
    }

    /// <summary>Records a persistent session's row and subscriptions (no-op without persistence or for a non-persistent session).</summary>
    internal void SaveSession(Session session, long expiresAt)
    {
        IBrokerPersistence? persistence = _persistence;
        if (persistence is null)
        {
            return;
        }

        if (session.ExpiryInterval == 0)
        {
            DiscardPersistedSession(session);
            return;
        }

        session.IsPersisted = true;
        persistence.SessionSaved(new PersistedSession(
            session.ClientId, session.CreatedAt, session.ExpiryInterval, ToUnixMilliseconds(expiresAt), session.GetSubscriptions()));
    }

    internal void DiscardPersistedSession(Session session)
    {
        if (session.IsPersisted && _persistence is { } persistence)
        {
            session.IsPersisted = false;
            persistence.SessionDiscarded(session.ClientId);
        }
    }
}
