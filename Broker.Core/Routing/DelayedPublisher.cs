using System.Buffers.Text;
using Broker.Core.Metrics;

namespace Broker.Core.Routing;

/// <summary>
/// EMQX's delayed publish: a PUBLISH to <c>$delayed/{seconds}/{topic}</c> is routed to <c>{topic}</c> that many
/// seconds later. Held in a priority queue by due time; the broker's housekeeping tick releases due messages.
/// </summary>
internal sealed class DelayedPublisher
{
    /// <summary>EMQX caps the delay at 4294967 seconds (about 49.7 days).</summary>
    public const uint MaximumDelaySeconds = 4_294_967;

    private static ReadOnlySpan<byte> Prefix => "$delayed/"u8;

    private readonly PriorityQueue<Message, long> _queue = new();
    private readonly Lock _lock = new();
    private readonly MqttBroker _broker;

    public DelayedPublisher(MqttBroker broker)
    {
        _broker = broker;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public static bool IsDelayed(ReadOnlySpan<byte> topic) => topic.StartsWith(Prefix);

    /// <summary>Parses <c>$delayed/{seconds}/{topic}</c>; false if the delay or the topic is invalid.</summary>
    public static bool TryParse(ReadOnlySpan<byte> topic, out uint seconds, out ReadOnlySpan<byte> target)
    {
        ReadOnlySpan<byte> rest = topic[Prefix.Length..];
        int slash = rest.IndexOf((byte)'/');
        target = default;
        seconds = 0;
        if (slash <= 0 || !Utf8Parser.TryParse(rest[..slash], out seconds, out int consumed) || consumed != slash || seconds > MaximumDelaySeconds)
        {
            return false;
        }

        target = rest[(slash + 1)..];
        return !target.IsEmpty;
    }

    public void Schedule(Message message, uint seconds)
    {
        long due = _broker.TimeProvider.GetTimestamp() + (long)(seconds * (double)_broker.TimeProvider.TimestampFrequency);
        lock (_lock)
        {
            _queue.Enqueue(message, due);
            _broker.Counters.Set(CounterId.MessagesDelayed, _queue.Count);
        }
    }

    /// <summary>Publishes every message that is due.</summary>
    public void PublishDue(long now)
    {
        while (true)
        {
            Message? message;
            lock (_lock)
            {
                if (!_queue.TryPeek(out message, out long due) || due > now)
                {
                    return;
                }

                _queue.Dequeue();
                _broker.Counters.Set(CounterId.MessagesDelayed, _queue.Count);
            }

            _broker.PublishInternal(message);
        }
    }
}
