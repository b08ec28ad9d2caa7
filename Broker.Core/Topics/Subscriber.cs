namespace Broker.Core.Topics;

/// <summary>One subscription in a <see cref="TopicTrie{TKey, TValue}"/>: who (compared by reference) and with which options.</summary>
public readonly struct Subscriber<TKey, TValue>(TKey key, TValue value)
    where TKey : class
{
    public TKey Key { get; } = key;

    public TValue Value { get; } = value;
}
