namespace Broker.Core.Topics;

/// <summary>One subscription as the management API lists it; <paramref name="ShareGroup"/> is null for a normal one.</summary>
public readonly record struct TopicTrieEntry<TKey, TValue>(string Filter, string? ShareGroup, TKey Key, TValue Value)
    where TKey : class;
