using Broker.Core.Topics;
using static Broker.Tests.Topics.TopicTestSupport;

namespace Broker.Tests.Topics;

[TestFixture]
public sealed class SubscriberListTests
{
    private static readonly TestSession[] s_sessions = [.. Enumerable.Range(0, 2_000).Select(i => new TestSession($"s{i}"))];

    [Test]
    public void Changes_AcrossTheChunkThreshold_MatchAModel()
    {
        SubscriberList<TestSession, int> list = default;
        Dictionary<TestSession, int> model = [];
        Random random = new(1);

        // Grow far past one chunk with churn, drain to empty (chunked back to flat), then churn around the threshold.
        Churn(ref list, model, random, steps: 10_000, range: s_sessions.Length);
        Assert.That(list.Count, Is.GreaterThan(2 * SubscriberList<TestSession, int>.ChunkSize));
        while (model.Count > 0)
        {
            TestSession gone = model.Keys.First();
            list = list.RemoveAt(list.IndexOf(gone));
            model.Remove(gone);
            if (model.Count % 37 == 0)
            {
                AssertEqual(list, model);
            }
        }

        Assert.That(list.IsEmpty, Is.True);
        Churn(ref list, model, random, steps: 20_000, range: 400);
    }

    [Test]
    public void Snapshot_IsNotChangedByLaterWrites()
    {
        SubscriberList<TestSession, int> list = default;
        for (int i = 0; i < 1000; i++)
        {
            list = list.Add(s_sessions[i], i);
        }

        SubscriberList<TestSession, int> snapshot = list;
        list = list.RemoveAt(3);
        list = list.Replace(700, -1);
        list = list.Add(s_sessions[1500], 1500);

        Assert.That(snapshot.Count, Is.EqualTo(1000));
        for (int i = 0; i < 1000; i++)
        {
            Assert.That(snapshot[i].Key, Is.SameAs(s_sessions[i]));
            Assert.That(snapshot[i].Value, Is.EqualTo(i));
        }
    }

    private static void Churn(ref SubscriberList<TestSession, int> list, Dictionary<TestSession, int> model, Random random, int steps, int range)
    {
        for (int step = 0; step < steps; step++)
        {
            TestSession session = s_sessions[random.Next(range)];
            int index = list.IndexOf(session);
            Assert.That(index >= 0, Is.EqualTo(model.ContainsKey(session)));
            if (index >= 0 && random.Next(2) == 0)
            {
                list = list.RemoveAt(index);
                model.Remove(session);
            }
            else
            {
                list = index >= 0 ? list.Replace(index, step) : list.Add(session, step);
                model[session] = step;
            }

            if (step % 500 == 0)
            {
                AssertEqual(list, model);
            }
        }

        AssertEqual(list, model);
    }

    private static void AssertEqual(SubscriberList<TestSession, int> list, Dictionary<TestSession, int> model)
    {
        List<(TestSession, int)> enumerated = [];
        foreach (ref readonly Subscriber<TestSession, int> subscriber in list)
        {
            enumerated.Add((subscriber.Key, subscriber.Value));
        }

        Assert.That(list.Count, Is.EqualTo(model.Count));
        Assert.That(list.IsEmpty, Is.EqualTo(model.Count == 0));
        Assert.That(Sorted(enumerated), Is.EqualTo(Sorted(model.Select(kv => (kv.Key, kv.Value)))));
        for (int i = 0; i < list.Count; i++)
        {
            Assert.That(list.IndexOf(list[i].Key), Is.EqualTo(i));
        }
    }
}
