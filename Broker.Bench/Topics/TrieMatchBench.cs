using System.Text;
using BenchmarkDotNet.Attributes;
using Broker.Core.Topics;

namespace Broker.Bench.Topics;

/// <summary>
/// <see cref="TopicTrie{TKey, TValue}.Match{TVisitor}"/> with <see cref="Subscriptions"/> filters in the trie, a quarter
/// each exact (<c>tenant/i/sensor/temp</c>), single-level wildcard (<c>tenant/i/+/temp</c>), multi-level wildcard
/// (<c>tenant/i/#</c>) and leading wildcard (<c>+/i/sensor/humidity</c>), plus two that match every tenant's sensors.
/// The topic matched hits 3 of them, however many there are: the issue's target is a flat line from 10k to 1M.
/// </summary>
[MemoryDiagnoser]
public class TrieMatchBench
{
    private const int Batch = 100;

    private TopicTrie<SubscriberKey, int> _trie = null!;
    private byte[][] _topics = [];
    private byte[] _missTopic = [];

    [Params(10, 10_000, 1_000_000)]
    public int Subscriptions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _trie = TopicTries.Build(Subscriptions);

        // Topics of tenants spread over the whole range, each matching its own tenant/i/# plus the two global filters.
        _topics = new byte[Batch][];
        for (int i = 0; i < Batch; i++)
        {
            int tenant = (int)((long)i * (Subscriptions - 2) / Batch / 4 * 4) + 2;
            _topics[i] = Encoding.UTF8.GetBytes($"tenant/{tenant}/sensor/temp");
        }

        _missTopic = "other/1/sensor/temp"u8.ToArray();
        foreach (byte[] topic in _topics)
        {
            var check = default(CountingVisitor);
            _trie.Match(topic, ref check);
            if (check.Count != 3)
            {
                throw new InvalidOperationException($"Expected 3 matches for {Encoding.UTF8.GetString(topic)}, got {check.Count}.");
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int MatchFew()
    {
        var visitor = default(CountingVisitor);
        foreach (byte[] topic in _topics)
        {
            _trie.Match(topic, ref visitor);
        }

        return visitor.Count;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int MatchNone()
    {
        var visitor = default(CountingVisitor);
        for (int i = 0; i < Batch; i++)
        {
            _trie.Match(_missTopic, ref visitor);
        }

        return visitor.Count;
    }
}

/// <summary>
/// Subscribe then unsubscribe <see cref="Batch"/> new filters (two levels below an existing tenant, so each adds and
/// prunes two nodes) in a trie of <see cref="Subscriptions"/>; the time is per subscribe + unsubscribe pair.
/// </summary>
[MemoryDiagnoser]
public class TrieSubscribeBench
{
    private const int Batch = 100;

    private TopicTrie<SubscriberKey, int> _trie = null!;
    private byte[][] _filters = [];
    private readonly SubscriberKey _key = new();

    [Params(10, 10_000, 1_000_000)]
    public int Subscriptions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _trie = TopicTries.Build(Subscriptions);
        _filters = new byte[Batch][];
        for (int i = 0; i < Batch; i++)
        {
            int tenant = (int)((long)i * (Subscriptions - 2) / Batch);
            _filters[i] = Encoding.UTF8.GetBytes($"tenant/{tenant}/actuator/{i}/+");
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int SubscribeUnsubscribe()
    {
        int changed = 0;
        foreach (byte[] filter in _filters)
        {
            changed += _trie.Subscribe(filter, default, _key, 1) ? 1 : 0;
        }

        foreach (byte[] filter in _filters)
        {
            changed += _trie.Unsubscribe(filter, default, _key) ? 1 : 0;
        }

        return changed;
    }
}

/// <summary>A subscriber, compared by reference like a session.</summary>
public sealed class SubscriberKey;

/// <summary>Counts matches; a struct, so the trie's calls to it are direct.</summary>
internal struct CountingVisitor : ITopicMatchVisitor<SubscriberKey, int>
{
    public int Count;

    public void OnSubscriber(SubscriberKey key, in int value) => Count++;

    public void OnSharedGroup(SharedGroup<SubscriberKey, int> group) => Count++;
}

internal static class TopicTries
{
    /// <summary>
    /// Builds the trie shared by the topic suites. 1M filters take a few seconds and about a gigabyte; a thousand
    /// keys are reused, as a filter has one subscriber here whoever it is.
    /// </summary>
    public static TopicTrie<SubscriberKey, int> Build(int subscriptions)
    {
        var trie = new TopicTrie<SubscriberKey, int>();
        var keys = new SubscriberKey[1024];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = new SubscriberKey();
        }

        Span<byte> filter = stackalloc byte[64];
        for (int i = 0; i < subscriptions - 2; i++)
        {
            int written = (i % 4) switch
            {
                0 => Format(filter, $"tenant/{i}/sensor/temp"),
                1 => Format(filter, $"tenant/{i}/+/temp"),
                2 => Format(filter, $"tenant/{i}/#"),
                _ => Format(filter, $"+/{i}/sensor/humidity"),
            };
            trie.Subscribe(filter[..written], default, keys[i % keys.Length], i);
        }

        trie.Subscribe("tenant/+/sensor/temp"u8, default, keys[0], -1);
        trie.Subscribe("tenant/+/sensor/#"u8, default, keys[1], -2);
        return trie;
    }

    private static int Format(Span<byte> destination, string text) => Encoding.UTF8.GetBytes(text, destination);
}
