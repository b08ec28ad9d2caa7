using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Sessions;

namespace Broker.Core.Persistence;

/// <summary>
/// Where the broker records the state that must survive a restart: retained messages and persistent sessions
/// (Session Expiry Interval above 0: 3.1.1 Clean Session 0, v5 expiry &gt; 0) with their subscriptions and the QoS 1/2
/// messages queued or inflight for them. Clean-session traffic never calls it.
/// </summary>
/// <remarks>
/// <para>
/// Every write is queued and returns a <em>durable sequence</em>: a number that grows with each write. Once
/// <see cref="DurableSequence"/> reaches it, the write (and every write queued before it) is on disk. The broker
/// answers PUBACK/PUBREC for a message that reached a persistent session only after that point
/// (<see cref="WhenDurable"/>), so an acknowledged message survives a crash of the process.
/// </para>
/// <para>
/// Calls come from connection read loops, under a session's lock: an implementation copies what it needs and returns
/// without blocking or calling back into the broker. The callbacks of <see cref="WhenDurable"/> run on the
/// implementation's own thread.
/// </para>
/// </remarks>
public interface IBrokerPersistence
{
    /// <summary>The highest sequence whose write is durable.</summary>
    public long DurableSequence { get; }

    /// <summary>Calls <paramref name="callback"/> once <see cref="DurableSequence"/> reaches <paramref name="sequence"/> (at once if it has).</summary>
    public void WhenDurable(long sequence, IDurabilityCallback callback);

    /// <summary>The retained message of a topic was set or replaced. <paramref name="expiresAtUnixMilliseconds"/> is 0 for never.</summary>
    public long RetainedSet(Message message, long expiresAtUnixMilliseconds);

    /// <summary>The retained message of <paramref name="topic"/> was deleted.</summary>
    public long RetainedRemoved(string topic);

    /// <summary>A persistent session was created or changed: its row and its subscriptions are replaced.</summary>
    public long SessionSaved(PersistedSession session);

    /// <summary>A persistent session ended: its row, subscriptions and messages go.</summary>
    public long SessionDiscarded(string clientId);

    /// <summary>
    /// A QoS 1/2 message was queued for (or sent to) a persistent session. Returns the message's id, which is also the
    /// write's durable sequence. The implementation copies the message: the broker may release it right after.
    /// </summary>
    public long MessageQueued(string clientId, Message message, QualityOfService qos, bool retain, long expiresAtUnixMilliseconds);

    /// <summary>The message with <paramref name="messageId"/> was acknowledged, dropped or expired; the removal need not be durable at once.</summary>
    public void MessageRemoved(string clientId, long messageId);
}

/// <summary>Told when a write became durable (see <see cref="IBrokerPersistence.WhenDurable"/>).</summary>
public interface IDurabilityCallback
{
    /// <param name="durableSequence">The sequence now durable; at least the one waited for.</param>
    public void OnDurable(long durableSequence);
}

/// <summary>A persistent session as stored.</summary>
/// <param name="ClientId">The client identifier.</param>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="ExpiryInterval">Session Expiry Interval in seconds; <see cref="uint.MaxValue"/> is never.</param>
/// <param name="ExpiresAtUnixMilliseconds">When the disconnected session expires; 0 while connected, <see cref="long.MaxValue"/> for never.</param>
/// <param name="Subscriptions">Its subscriptions.</param>
public sealed record PersistedSession(
    string ClientId, DateTimeOffset CreatedAt, uint ExpiryInterval, long ExpiresAtUnixMilliseconds, IReadOnlyList<SubscriptionEntry> Subscriptions);

/// <summary>A message of a persistent session as stored: its id, the delivery's QoS and retain flag, its expiry (0 for never).</summary>
public readonly record struct PersistedMessage(long Id, Message Message, QualityOfService QoS, bool Retain, long ExpiresAtUnixMilliseconds);
