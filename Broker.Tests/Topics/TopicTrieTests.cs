using Broker.Core.Topics;
using static Broker.Tests.Topics.TopicTestSupport;

namespace Broker.Tests.Topics;

[TestFixture]
public sealed class TopicTrieTests
{
    private static readonly TestSession s_alice = new("alice");
    private static readonly TestSession s_bob = new("bob");

    [TestCaseSource(typeof(TopicMatchCases), nameof(TopicMatchCases.All))]
    public bool Match_OneFilter_AgreesWithTheSpecExamples(string filter, string topic)
    {
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe(filter, s_alice, 1);
        trie.Subscribe(filter, s_bob, 2, shareGroup: "g");

        CollectingVisitor visitor = trie.Match(topic);

        Assert.That(visitor.Groups, Has.Count.EqualTo(visitor.Subscribers.Count));
        return visitor.Subscribers.Count switch
        {
            0 => false,
            1 => true,
            _ => throw new AssertionException("A filter was reported more than once."),
        };
    }

    [Test]
    public void Match_ManyFilters_ReportsEachMatchingFilterOnce_AndOnlyThose()
    {
        // Every filter over a small alphabet, against every topic over it: the trie must agree with Matches.
        string[] filterLevels = ["a", "b", "", "$s", "+", "#"];
        string[] topicLevels = ["a", "b", "", "$s"];
        List<string> filters = [.. Combine(filterLevels, 3).Where(f => TopicValidator.IsValidTopicFilter(Utf8(f)))];
        List<string> topics = [.. Combine(topicLevels, 3)];
        TopicTrie<TestSession, int> trie = new();
        for (int i = 0; i < filters.Count; i++)
        {
            Assert.That(trie.Subscribe(filters[i], s_alice, i), Is.True);
        }

        foreach (string topic in topics)
        {
            int[] expected = [.. Enumerable.Range(0, filters.Count).Where(i => TopicValidator.Matches(Utf8(filters[i]), Utf8(topic)))];
            int[] actual = [.. trie.Match(topic).Subscribers.Select(s => s.Value).Order()];
            Assert.That(actual, Is.EqualTo(expected), $"topic \"{topic}\"");
        }

        Assert.That(trie.FilterCount, Is.EqualTo(filters.Count));
    }

    [Test]
    public void Match_DollarTopics_SkipLeadingWildcards()
    {
        // [MQTT-4.7.2-1]
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe("#", s_alice, 1);
        trie.Subscribe("+/x", s_alice, 2);
        trie.Subscribe("$SYS/#", s_alice, 3);
        trie.Subscribe("$SYS/+", s_alice, 4);
        trie.Subscribe("+/#", s_alice, 5);

        Assert.That(trie.Match("$SYS/x").Subscribers.Select(s => s.Value).Order(), Is.EqualTo(new[] { 3, 4 }));
        Assert.That(trie.Match("sys/x").Subscribers.Select(s => s.Value).Order(), Is.EqualTo(new[] { 1, 2, 5 }));
    }

    [Test]
    public void Match_OverlappingFilters_ReportTheSameKeyOncePerFilter()
    {
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe("a/+", s_alice, 1);
        trie.Subscribe("a/#", s_alice, 2);
        trie.Subscribe("a/b", s_alice, 3);
        trie.Subscribe("#", s_bob, 4);
        trie.Subscribe("+/+", s_bob, 5);

        CollectingVisitor visitor = trie.Match("a/b");

        Assert.That(visitor.Subscribers.Select(s => s.Value).Order(), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void Subscribe_SameEntryAgain_ReplacesTheValue()
    {
        TopicTrie<TestSession, int> trie = new();

        Assert.That(trie.Subscribe("a/b", s_alice, 1), Is.True);
        Assert.That(trie.Subscribe("a/b", s_alice, 2), Is.False);
        Assert.That(trie.Subscribe("a/b", s_bob, 3), Is.True);

        Assert.That(trie.Match("a/b").Subscribers, Is.EquivalentTo(new[] { (s_alice, 2), (s_bob, 3) }));
        Assert.That(trie.SubscriptionCount, Is.EqualTo(2));
        Assert.That(trie.FilterCount, Is.EqualTo(1));
    }

    [Test]
    public void Subscribe_NormalAndSharedOfOneKey_AreSeparateEntries()
    {
        TopicTrie<TestSession, int> trie = new();

        Assert.That(trie.Subscribe("a/+", s_alice, 1), Is.True);
        Assert.That(trie.Subscribe("a/+", s_alice, 2, shareGroup: "g1"), Is.True);
        Assert.That(trie.Subscribe("a/+", s_alice, 3, shareGroup: "g2"), Is.True);
        Assert.That(trie.Subscribe("a/+", s_bob, 4, shareGroup: "g1"), Is.True);
        Assert.That(trie.Subscribe("a/+", s_bob, 5, shareGroup: "g1"), Is.False);

        CollectingVisitor visitor = trie.Match("a/x");
        Assert.That(visitor.Subscribers, Is.EqualTo(new[] { (s_alice, 1) }));
        Assert.That(visitor.Groups.Select(g => g.Name), Is.EquivalentTo(new[] { "g1", "g2" }));
        SharedGroup<TestSession, int> g1 = visitor.Groups.Single(g => g.Name == "g1");
        Assert.That(g1.Members.Count, Is.EqualTo(2));
        Assert.That(g1.Members[1].Value, Is.EqualTo(5));
        Assert.That(trie.SubscriptionCount, Is.EqualTo(4));
        Assert.That(trie.SharedSubscriptionCount, Is.EqualTo(3));
        Assert.That(trie.FilterCount, Is.EqualTo(1));
    }

    [Test]
    public void Unsubscribe_ReturnsWhetherItExisted_AndPrunesEmptyNodes()
    {
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe("a/b/c", s_alice);
        trie.Subscribe("a/+/#", s_alice);
        trie.Subscribe("a/b", s_bob, shareGroup: "g");
        trie.Subscribe("/x", s_bob);
        int nodes = trie.CountNodes();

        Assert.That(trie.Unsubscribe("a/b/c", s_bob), Is.False);
        Assert.That(trie.Unsubscribe("a/b/c/d", s_alice), Is.False);
        Assert.That(trie.Unsubscribe("a/b", s_bob), Is.False, "a shared entry is not a normal one");
        Assert.That(trie.Unsubscribe("a/b", s_bob, shareGroup: "h"), Is.False);
        Assert.That(trie.Unsubscribe("a/+", s_alice), Is.False);
        Assert.That(trie.CountNodes(), Is.EqualTo(nodes));

        Assert.That(trie.Unsubscribe("a/b/c", s_alice), Is.True);
        Assert.That(trie.Unsubscribe("a/b/c", s_alice), Is.False);
        Assert.That(trie.CountNodes(), Is.EqualTo(nodes - 1), "only 'c' goes; 'a/b' still has a group");
        Assert.That(trie.Unsubscribe("a/b", s_bob, shareGroup: "g"), Is.True);
        Assert.That(trie.Unsubscribe("a/+/#", s_alice), Is.True);
        Assert.That(trie.Unsubscribe("/x", s_bob), Is.True);

        Assert.That(trie.CountNodes(), Is.EqualTo(1));
        Assert.That(trie.SubscriptionCount, Is.Zero);
        Assert.That(trie.SharedSubscriptionCount, Is.Zero);
        Assert.That(trie.FilterCount, Is.Zero);
        Assert.That(trie.EnumerateEntries(), Is.Empty);
        Assert.That(trie.Match("a/b/c").Subscribers, Is.Empty);
    }

    [Test]
    public void Unsubscribe_LastGroupMember_RemovesTheGroup()
    {
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe("t", s_alice, shareGroup: "g");
        trie.Subscribe("t", s_bob, shareGroup: "g");
        trie.Subscribe("t", s_bob);

        trie.Unsubscribe("t", s_alice, shareGroup: "g");
        Assert.That(trie.Match("t").Groups.Single().Members.Count, Is.EqualTo(1));
        trie.Unsubscribe("t", s_bob, shareGroup: "g");
        Assert.That(trie.Match("t").Groups, Is.Empty);
        Assert.That(trie.FilterCount, Is.EqualTo(1));
        Assert.That(trie.SharedSubscriptionCount, Is.Zero);
    }

    [TestCase("")] // [MQTT-4.7.3-1]
    [TestCase("a/#/b")] // [MQTT-4.7.1-2]
    [TestCase("a+")] // [MQTT-4.7.1-3]
    public void Subscribe_InvalidFilter_Throws(string filter)
    {
        TopicTrie<TestSession, int> trie = new();

        Assert.That(() => trie.Subscribe(filter, s_alice), Throws.ArgumentException);
        Assert.That(trie.CountNodes(), Is.EqualTo(1));
    }

    [TestCase("a/b")] // [MQTT-4.8.2-2]
    [TestCase("+")] // [MQTT-4.8.2-2]
    public void Subscribe_InvalidShareName_Throws(string shareGroup)
    {
        TopicTrie<TestSession, int> trie = new();

        Assert.That(() => trie.Subscribe("a", s_alice, shareGroup: shareGroup), Throws.ArgumentException);
    }

    [Test]
    public void EnumerateEntries_ListsFiltersAsSubscribed()
    {
        TopicTrie<TestSession, int> trie = new();
        string[] filters = ["a/b", "a/+", "a/#", "#", "+", "/finance", "/", "a//b", "$SYS/#", "caf\u00e9"];
        for (int i = 0; i < filters.Length; i++)
        {
            trie.Subscribe(filters[i], s_alice, i);
        }

        trie.Subscribe("a/+", s_bob, 100, shareGroup: "g");

        List<TopicTrieEntry<TestSession, int>> entries = [.. trie.EnumerateEntries()];

        Assert.That(
            entries.Where(e => e.ShareGroup is null).Select(e => (e.Filter, e.Value)),
            Is.EquivalentTo(filters.Select((f, i) => (f, i))));
        Assert.That(entries.Single(e => e.ShareGroup is not null), Is.EqualTo(new TopicTrieEntry<TestSession, int>("a/+", "g", s_bob, 100)));
    }

    [Test]
    public void Node_With100kChildren_MatchesAndPrunes()
    {
        const int Devices = 100_000;
        TopicTrie<TestSession, int> trie = new();
        TestSession[] sessions = new TestSession[Devices];
        for (int i = 0; i < Devices; i++)
        {
            sessions[i] = new TestSession($"d{i}");
            Assert.That(trie.Subscribe(Utf8($"devices/{i}/cmd"), default, sessions[i], i), Is.True);
        }

        trie.Subscribe("devices/+/cmd", s_alice, -1);

        Assert.That(trie.FilterCount, Is.EqualTo(Devices + 1));
        Assert.That(trie.Match("devices/12345/cmd").Subscribers, Is.EquivalentTo(new[] { (sessions[12345], 12345), (s_alice, -1) }));
        Assert.That(trie.Match("devices/100000/cmd").Subscribers, Is.EqualTo(new[] { (s_alice, -1) }));
        Assert.That(trie.Match("devices/12345").Subscribers, Is.Empty);

        // Remove the odd ones and bring back a few: dead slots are revived or reused, and lookups stay right.
        for (int i = 1; i < Devices; i += 2)
        {
            Assert.That(trie.Unsubscribe(Utf8($"devices/{i}/cmd"), default, sessions[i]), Is.True);
        }

        for (int i = 1; i < 1000; i += 2)
        {
            Assert.That(trie.Subscribe(Utf8($"devices/{i}/cmd"), default, sessions[i], i), Is.True);
        }

        for (int i = 0; i < 2000; i++)
        {
            bool present = i % 2 == 0 || i < 1000;
            Assert.That(trie.Match($"devices/{i}/cmd").Subscribers, Has.Count.EqualTo(present ? 2 : 1), $"device {i}");
        }

        for (int i = 0; i < Devices; i++)
        {
            trie.Unsubscribe(Utf8($"devices/{i}/cmd"), default, sessions[i]);
        }

        trie.Unsubscribe("devices/+/cmd", s_alice);
        Assert.That(trie.CountNodes(), Is.EqualTo(1));
        Assert.That(trie.SubscriptionCount, Is.Zero);
        Assert.That(trie.FilterCount, Is.Zero);
    }

    [Test]
    public void ChildTable_ChurnThroughScanAndHashModes_KeepsEveryLiveChildFindable()
    {
        TopicTrie<TestSession, int> trie = new();
        Random random = new(42);
        HashSet<int> live = [];
        for (int step = 0; step < 20_000; step++)
        {
            int level = random.Next(64);
            if (live.Add(level))
            {
                trie.Subscribe($"n/{level}", s_alice, level);
            }
            else
            {
                live.Remove(level);
                trie.Unsubscribe($"n/{level}", s_alice);
            }

            if (step % 97 == 0)
            {
                Assert.That(trie.Match("n/+").Subscribers, Is.Empty);
                Assert.That(trie.FilterCount, Is.EqualTo(live.Count));
                for (int l = 0; l < 64; l++)
                {
                    Assert.That(trie.Match($"n/{l}").Subscribers, Has.Count.EqualTo(live.Contains(l) ? 1 : 0), $"level {l} at step {step}");
                }
            }
        }
    }

    [Test]
    public void Filter_With10kSubscribers_AddsReplacesAndRemovesExactly()
    {
        // Past SubscriberList.ChunkSize the list is chunked; churn it and compare with a model.
        TopicTrie<TestSession, int> trie = new();
        TestSession[] sessions = [.. Enumerable.Range(0, 10_000).Select(i => new TestSession($"s{i}"))];
        Dictionary<TestSession, int> model = [];
        Random random = new(7);
        for (int step = 0; step < 40_000; step++)
        {
            TestSession session = sessions[random.Next(step < 20_000 ? sessions.Length : 300)];
            if (random.Next(3) == 0 && model.Remove(session))
            {
                Assert.That(trie.Unsubscribe("fan/out", session), Is.True);
            }
            else
            {
                bool isNew = !model.ContainsKey(session);
                model[session] = step;
                Assert.That(trie.Subscribe("fan/out", session, step), Is.EqualTo(isNew));
            }

            if (step % 5000 == 0 || step == 39_999)
            {
                Assert.That(Sorted(trie.Match("fan/out").Subscribers), Is.EqualTo(Sorted(model.Select(kv => (kv.Key, kv.Value)))));
            }
        }

        Assert.That(trie.SubscriptionCount, Is.EqualTo(model.Count));
    }

    [Test]
    public void Match_FromInsideAVisitor_UsesItsOwnStack()
    {
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe("a/+", s_alice, 1);
        trie.Subscribe("a/#", s_alice, 2);
        trie.Subscribe("b/c", s_bob, 3);

        NestingVisitor visitor = new(trie);
        trie.Match(Utf8("a/x"), ref visitor);

        Assert.That(visitor.Outer, Is.EqualTo(2));
        Assert.That(visitor.Inner, Is.EqualTo(2));
    }

    [Test]
    public void Match_AfterWarmUp_AllocatesNothing()
    {
        TopicTrie<TestSession, int> trie = new();
        trie.Subscribe("sensors/+/temperature", s_alice, 1);
        trie.Subscribe("sensors/#", s_bob, 2);
        trie.Subscribe("sensors/+/temperature", s_bob, 3, shareGroup: "g");
        trie.Subscribe("#", s_bob, 4);
        for (int i = 0; i < 50; i++)
        {
            // Enough siblings for a hashed child table.
            trie.Subscribe($"sensors/{i}/temperature", s_alice, i);
        }

        byte[] topic = Utf8("sensors/42/temperature");
        CountingVisitor visitor = default;
        for (int i = 0; i < 100; i++)
        {
            trie.Match(topic, ref visitor);
            trie.Match("$SYS/a/b/c/d/e/f"u8, ref visitor);
        }

        visitor = default;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            trie.Match(topic, ref visitor);
            trie.Match("$SYS/a/b/c/d/e/f"u8, ref visitor);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);
        Assert.That(visitor.Subscribers, Is.EqualTo(4 * 1000));
        Assert.That(visitor.Groups, Is.EqualTo(1000));
    }

    private static IEnumerable<string> Combine(string[] levels, int maxDepth)
    {
        IEnumerable<string> current = levels;
        for (int depth = 1; depth <= maxDepth; depth++)
        {
            foreach (string filter in current)
            {
                yield return filter;
            }

            current = [.. current.SelectMany(prefix => levels.Select(level => prefix + "/" + level))];
        }
    }

    private struct NestingVisitor(TopicTrie<TestSession, int> trie) : ITopicMatchVisitor<TestSession, int>
    {
        public int Outer;
        public int Inner;

        public void OnSubscriber(TestSession key, in int value)
        {
            Outer++;
            CountingVisitor inner = default;
            trie.Match("b/c"u8, ref inner);
            Inner += inner.Subscribers;
        }

        public readonly void OnSharedGroup(SharedGroup<TestSession, int> group)
        {
        }
    }
}
