using System.Collections.Concurrent;
using System.Text;
using Broker.Core.Metrics;
using Broker.Core.Topics;

namespace Broker.Core.Routing;

/// <summary>
/// Retained messages by topic [MQTT-3.3.1-5]: set, replaced, deleted by an empty payload [MQTT-3.3.1-10],
/// expired with the message. A filter with wildcards scans the store; an exact topic is one lookup.
/// </summary>
public sealed class RetainedStore
{
    private readonly ConcurrentDictionary<string, Message> _messages = new(StringComparer.Ordinal);
    private readonly MqttBroker _broker;

    internal RetainedStore(MqttBroker broker)
    {
        _broker = broker;
    }

    public int Count => _messages.Count;

    /// <summary>Stores, replaces or (empty payload) deletes the retained message of the message's topic.</summary>
    /// <returns>False when the store refused it (full or payload over the limit).</returns>
    public bool Set(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.PayloadLength == 0)
        {
            if (_messages.TryRemove(message.Topic, out _))
            {
                Persisted(message.Topic);
                Changed();
            }

            return true;
        }

        int maxPayload = _broker.Options.MaximumRetainedPayloadSize;
        if (maxPayload > 0 && message.PayloadLength > maxPayload)
        {
            return false;
        }

        int maxCount = _broker.Options.MaximumRetainedMessages;
        if (maxCount > 0 && _messages.Count >= maxCount && !_messages.ContainsKey(message.Topic))
        {
            return false;
        }

        // The store outlives the publish, so it keeps an unpooled copy, never a reference to a pooled message.
        Message kept = message.ToUnpooled();
        _messages[message.Topic] = kept;
        // $SYS messages are the broker's own, published again at every start: not stored.
        if (_broker.Persistence is { } persistence && !kept.IsSystem)
        {
            MqttBroker.RequireDurable(persistence.RetainedSet(kept, _broker.ToUnixMilliseconds(kept.ExpiresAt)));
        }

        Changed();
        return true;
    }

    /// <summary>Puts back a message read from storage, without writing it again.</summary>
    internal void Restore(Message message)
    {
        _messages[message.Topic] = message.ToUnpooled();
        Changed();
    }

    public bool Remove(string topic)
    {
        bool removed = _messages.TryRemove(topic, out _);
        if (removed)
        {
            Persisted(topic);
            Changed();
        }

        return removed;
    }

    private void Persisted(string topic)
    {
        if (_broker.Persistence is { } persistence && !topic.StartsWith("$SYS/", StringComparison.Ordinal))
        {
            MqttBroker.RequireDurable(persistence.RetainedRemoved(topic));
        }
    }

    public Message? Find(string topic)
    {
        if (_messages.TryGetValue(topic, out Message? message))
        {
            if (!message.IsExpired(_broker.TimeProvider.GetTimestamp()))
            {
                return message;
            }

            Remove(topic);
        }

        return null;
    }

    /// <summary>The live retained messages whose topic matches <paramref name="filter"/>.</summary>
    public List<Message> Match(string filter)
    {
        var result = new List<Message>();
        byte[] filterBytes = Encoding.UTF8.GetBytes(filter);
        if (!TopicValidator.HasWildcards(filterBytes))
        {
            if (Find(filter) is { } exact)
            {
                result.Add(exact);
            }

            return result;
        }

        long now = _broker.TimeProvider.GetTimestamp();
        foreach (KeyValuePair<string, Message> pair in _messages)
        {
            if (TopicValidator.Matches(filterBytes, pair.Value.TopicBytes))
            {
                if (pair.Value.IsExpired(now))
                {
                    Remove(pair.Key);
                }
                else
                {
                    result.Add(pair.Value);
                }
            }
        }

        return result;
    }

    /// <summary>Every retained message, for the management API.</summary>
    public IReadOnlyList<Message> Snapshot() => [.. _messages.Values];

    /// <summary>Drops expired messages (housekeeping).</summary>
    internal void RemoveExpired(long now)
    {
        foreach (KeyValuePair<string, Message> pair in _messages)
        {
            if (pair.Value.IsExpired(now))
            {
                Remove(pair.Key);
            }
        }
    }

    public void Clear()
    {
        foreach (string topic in _messages.Keys)
        {
            if (_messages.TryRemove(topic, out _))
            {
                Persisted(topic);
            }
        }

        Changed();
    }

    private void Changed()
    {
        int count = _messages.Count;
        _broker.Counters.Set(CounterId.MessagesRetained, count);
        _broker.Stats.Set(StatId.Retained, count);
    }
}
