using System.Collections.Concurrent;
using Broker.Core.Configuration;
using Broker.Core.Topics;
using static Broker.Tests.Topics.TopicTestSupport;

namespace Broker.Tests.Topics;

[TestFixture]
public sealed class TopicTrieConcurrencyTests
{
    private const int Writers = 2;
    private const int Readers = 2;
    private const int OperationsPerWriter = 20_000;

    // Shared filters every writer uses, then per-writer ones: 200 siblings under "w<n>" make a hashed child table churn.
    private static readonly string[] s_sharedFilters = ["c/+", "c/#", "c/x", "#", "c/+/y", "$SYS/#", "+/x"];
    private static readonly string[] s_topics = ["c/x", "c/x/y", "c/z/y", "c", "$SYS/x", "w0/5", "w1/199", "w0/x", "q"];

    // Subscribed before the writers start and never touched by them: every match must report it, whatever they do.
    private static readonly TestSession s_anchor = new("anchor");
    private static readonly string[] s_anchorFilters = ["#", "w0/5", "w1/199"];

    [Test]
    public void SubscribeAndUnsubscribe_WhileMatching_NeverReportsAWrongEntry_AndEndsExact()
    {
        string[] filters = [.. s_sharedFilters, .. Enumerable.Range(0, Writers).SelectMany(w => Enumerable.Range(0, 200).Select(n => $"w{w}/{n}"))];
        TopicTrie<TestSession, int> trie = new();
        HashSet<(int Filter, bool Shared, TestSession Key)>[] models = [.. Enumerable.Range(0, Writers).Select(_ => new HashSet<(int, bool, TestSession)>())];
        ConcurrentQueue<string> failures = new();
        int writersRunning = Writers;
        long matchesDuringWrites = 0;
        HashSet<(int Filter, bool Shared, TestSession Key)> anchors = [.. s_anchorFilters.Select(f => (Array.IndexOf(filters, f), false, s_anchor))];
        foreach ((int filter, _, TestSession key) in anchors)
        {
            trie.Subscribe(filters[filter], key, filter);
        }

        Thread[] writers = [.. Enumerable.Range(0, Writers).Select(w => new Thread(() =>
        {
            try
            {
                Write(trie, filters, w, models[w], failures);
            }
            catch (Exception e)
            {
                failures.Enqueue(e.ToString());
            }
            finally
            {
                Interlocked.Decrement(ref writersRunning);
            }
        }))];
        Thread[] readers = [.. Enumerable.Range(0, Readers).Select(r => new Thread(() =>
        {
            try
            {
                long matches = Read(trie, filters, r, () => Volatile.Read(ref writersRunning) > 0, failures);
                Interlocked.Add(ref matchesDuringWrites, matches);
            }
            catch (Exception e)
            {
                failures.Enqueue(e.ToString());
            }
        }))];

        foreach (Thread thread in writers.Concat(readers))
        {
            thread.Start();
        }

        foreach (Thread thread in writers.Concat(readers))
        {
            Assert.That(thread.Join(TimeSpan.FromMinutes(2)), Is.True, "a thread did not finish");
        }

        Assert.That(failures, Is.Empty);
        Assert.That(matchesDuringWrites, Is.GreaterThan(100));
        HashSet<(int Filter, bool Shared, TestSession Key)> expected = [.. models.SelectMany(m => m), .. anchors];
        Assert.That(trie.SubscriptionCount, Is.EqualTo(expected.Count));
        Assert.That(trie.SharedSubscriptionCount, Is.EqualTo(expected.Count(e => e.Shared)));
        Assert.That(trie.FilterCount, Is.EqualTo(expected.Select(e => e.Filter).Distinct().Count()));
        Assert.That(
            Sorted(trie.EnumerateEntries().Select(e => (Array.IndexOf(filters, e.Filter), e.ShareGroup is not null, e.Key))),
            Is.EqualTo(Sorted(expected)));
        foreach (string topic in s_topics)
        {
            CollectingVisitor visitor = trie.Match(topic);
            IEnumerable<TestSession> members = visitor.Groups.SelectMany(g => Enumerate(g.Members));
            Assert.That(
                Sorted(visitor.Subscribers.Select(s => (s.Value % 1000, false, s.Key)).Concat(members.Select(k => (-1, true, k)))),
                Is.EqualTo(Sorted(expected.Where(e => TopicValidator.Matches(Utf8(filters[e.Filter]), Utf8(topic))).Select(e => (e.Shared ? -1 : e.Filter, e.Shared, e.Key)))),
                topic);
        }

        foreach ((int filter, bool shared, TestSession key) in expected)
        {
            Assert.That(trie.Unsubscribe(filters[filter], key, shared ? "g" : ""), Is.True);
        }

        Assert.That(trie.CountNodes(), Is.EqualTo(1));
        Assert.That(trie.SubscriptionCount, Is.Zero);
        Assert.That(trie.FilterCount, Is.Zero);
    }

    private static void Write(TopicTrie<TestSession, int> trie, string[] filters, int writer, HashSet<(int, bool, TestSession)> model, ConcurrentQueue<string> failures)
    {
        TestSession[] sessions = [.. Enumerable.Range(0, 16).Select(i => new TestSession($"w{writer}s{i}"))];
        Random random = new(writer);
        int ownFilters = s_sharedFilters.Length + (writer * 200);
        for (int op = 0; op < OperationsPerWriter; op++)
        {
            int filter = random.Next(4) == 0 ? random.Next(s_sharedFilters.Length) : ownFilters + random.Next(200);
            bool shared = random.Next(4) == 0;
            TestSession key = sessions[random.Next(sessions.Length)];
            (int, bool, TestSession) entry = (filter, shared, key);
            string group = shared ? "g" : "";

            // The value carries the filter index so readers can check that what they are told matches.
            bool changed = model.Contains(entry) && random.Next(3) == 0
                ? trie.Unsubscribe(filters[filter], key, group) == model.Remove(entry)
                : trie.Subscribe(filters[filter], key, (op * 1000) + filter, group) == model.Add(entry);
            if (!changed)
            {
                failures.Enqueue($"writer {writer}: op {op} on {filters[filter]} disagreed with the model");
                return;
            }
        }
    }

    /// <summary>Matches until the writers are done; returns how many matches overlapped them.</summary>
    private static long Read(TopicTrie<TestSession, int> trie, string[] filters, int reader, Func<bool> keepGoing, ConcurrentQueue<string> failures)
    {
        Random random = new(100 + reader);
        long matches = 0;
        while (keepGoing())
        {
            string topic = s_topics[random.Next(s_topics.Length)];
            CheckingVisitor visitor = new(filters, topic, failures);
            trie.Match(Utf8(topic), ref visitor);
            int anchorsExpected = s_anchorFilters.Count(f => TopicValidator.Matches(Utf8(f), Utf8(topic)));
            if (visitor.Anchors != anchorsExpected)
            {
                failures.Enqueue($"anchor reported {visitor.Anchors} times for {topic}, not {anchorsExpected}");
            }

            matches++;
        }

        return matches;
    }

    private static IEnumerable<TestSession> Enumerate(SubscriberList<TestSession, int> list)
    {
        for (int i = 0; i < list.Count; i++)
        {
            yield return list[i].Key;
        }
    }

    /// <summary>Checks each report against the topic and that no (filter, key) comes twice in one match.</summary>
    private struct CheckingVisitor(string[] filters, string topic, ConcurrentQueue<string> failures) : ITopicMatchVisitor<TestSession, int>
    {
        private readonly HashSet<(int, TestSession)> _seen = [];

        public int Anchors { get; private set; }

        public void OnSubscriber(TestSession key, in int value)
        {
            Anchors += key == s_anchor ? 1 : 0;
            int filter = value % 1000;
            if (!TopicValidator.Matches(Utf8(filters[filter]), Utf8(topic)))
            {
                failures.Enqueue($"{key} via {filters[filter]} reported for {topic}");
            }

            if (!_seen.Add((filter, key)))
            {
                failures.Enqueue($"{key} via {filters[filter]} reported twice for {topic}");
            }
        }

        public readonly void OnSharedGroup(SharedGroup<TestSession, int> group)
        {
            SubscriberList<TestSession, int> members = group.Members;
            int picked = group.Pick(members, SharedSubscriptionStrategy.RoundRobin, 0);
            if (members.Count == 0 ? picked != -1 : (uint)picked >= (uint)members.Count)
            {
                failures.Enqueue($"pick {picked} of {members.Count} in group {group.Name}");
                return;
            }

            foreach (ref readonly Subscriber<TestSession, int> member in members)
            {
                if (!TopicValidator.Matches(Utf8(filters[member.Value % 1000]), Utf8(topic)))
                {
                    failures.Enqueue($"group member {member.Key} via {filters[member.Value % 1000]} reported for {topic}");
                }
            }
        }
    }
}
