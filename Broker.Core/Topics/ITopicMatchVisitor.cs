namespace Broker.Core.Topics;

/// <summary>
/// Receives the subscriptions matching a topic from <see cref="TopicTrie{TKey, TValue}.Match{TVisitor}"/>. Implement it
/// on a struct so that the calls are direct. Callbacks run while writers may be changing the trie; an exception from one
/// ends the match and reaches the caller.
/// </summary>
public interface ITopicMatchVisitor<TKey, TValue>
    where TKey : class
{
    /// <summary>A normal subscription whose filter matches. A key subscribed through two matching filters is reported for each.</summary>
    public void OnSubscriber(TKey key, in TValue value);

    /// <summary>A shared group whose filter matches; deliver to one member picked with <see cref="SharedGroup{TKey, TValue}.Pick"/>.</summary>
    public void OnSharedGroup(SharedGroup<TKey, TValue> group);
}
