namespace Broker.Core.Topics;

/// <summary>
/// Splits a topic name or filter into its levels on <c>'/'</c> without allocating. Empty levels are levels:
/// <c>"a//b"</c> has three and <c>"/"</c> has two [MQTT-4.7.1-1]. Use it with <c>foreach</c>.
/// </summary>
public ref struct TopicLevels
{
    /// <summary>The topic level separator [MQTT-4.7.1-1].</summary>
    public const byte Separator = (byte)'/';

    private ReadOnlySpan<byte> _remaining;
    private ReadOnlySpan<byte> _current;
    private bool _finished;

    public TopicLevels(ReadOnlySpan<byte> topic)
    {
        _remaining = topic;
        _current = default;
        _finished = false;
    }

    /// <summary>The level found by the last <see cref="MoveNext"/>.</summary>
    public readonly ReadOnlySpan<byte> Current => _current;

    /// <summary>Whether <see cref="Current"/> is the last level.</summary>
    public readonly bool IsLast => _finished;

    public readonly TopicLevels GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_finished)
        {
            return false;
        }

        _current = Next(_remaining, 0, out int next);
        if (next > _remaining.Length)
        {
            _finished = true;
            _remaining = default;
        }
        else
        {
            _remaining = _remaining[next..];
        }

        return true;
    }

    /// <summary>The number of levels: one more than the number of separators.</summary>
    public static int Count(ReadOnlySpan<byte> topic) => topic.Count(Separator) + 1;

    /// <summary>
    /// The level that starts at <paramref name="start"/>, for walks that keep their position as an offset (the trie's
    /// match stack). <paramref name="next"/> is where the following level starts, or <c>topic.Length + 1</c> after the last.
    /// </summary>
    public static ReadOnlySpan<byte> Next(ReadOnlySpan<byte> topic, int start, out int next)
    {
        ReadOnlySpan<byte> rest = topic[start..];
        int separator = rest.IndexOf(Separator);
        if (separator < 0)
        {
            next = topic.Length + 1;
            return rest;
        }

        next = start + separator + 1;
        return rest[..separator];
    }
}
