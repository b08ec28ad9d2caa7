using System.Text;
using Broker.Core.Topics;

namespace Broker.Tests.Topics;

/// <summary>A stand-in for a broker session: a trie key compared by reference.</summary>
internal sealed class TestSession(string id)
{
    public string Id { get; } = id;

    public override string ToString() => Id;
}

/// <summary>Records every callback of a match (allocates; for correctness tests only).</summary>
internal struct CollectingVisitor : ITopicMatchVisitor<TestSession, int>
{
    public CollectingVisitor()
    {
    }

    public List<(TestSession Key, int Value)> Subscribers { get; } = [];

    public List<SharedGroup<TestSession, int>> Groups { get; } = [];

    public readonly void OnSubscriber(TestSession key, in int value) => Subscribers.Add((key, value));

    public readonly void OnSharedGroup(SharedGroup<TestSession, int> group) => Groups.Add(group);
}

/// <summary>Counts callbacks without allocating.</summary>
internal struct CountingVisitor : ITopicMatchVisitor<TestSession, int>
{
    public int Subscribers;
    public int Groups;
    public long ValueSum;

    public void OnSubscriber(TestSession key, in int value)
    {
        Subscribers++;
        ValueSum += value;
    }

    public void OnSharedGroup(SharedGroup<TestSession, int> group) => Groups++;
}

internal static class TopicTestSupport
{
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>A sorted rendering for comparing large collections in O(n log n); NUnit's EquivalentTo is quadratic.</summary>
    public static string[] Sorted<T>(IEnumerable<T> items) => [.. items.Select(i => i?.ToString() ?? "null").Order(StringComparer.Ordinal)];

    public static CollectingVisitor Match(this TopicTrie<TestSession, int> trie, string topic)
    {
        CollectingVisitor visitor = new();
        trie.Match(Utf8(topic), ref visitor);
        return visitor;
    }

    public static bool Subscribe(this TopicTrie<TestSession, int> trie, string filter, TestSession key, int value = 0, string shareGroup = "")
        => trie.Subscribe(Utf8(filter), Utf8(shareGroup), key, value);

    public static bool Unsubscribe(this TopicTrie<TestSession, int> trie, string filter, TestSession key, string shareGroup = "")
        => trie.Unsubscribe(Utf8(filter), Utf8(shareGroup), key);
}
