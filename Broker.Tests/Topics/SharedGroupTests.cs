using Broker.Core.Configuration;
using Broker.Core.Topics;
using static Broker.Tests.Topics.TopicTestSupport;

namespace Broker.Tests.Topics;

[TestFixture]
public sealed class SharedGroupTests
{
    private static readonly TestSession[] s_sessions = [new("a"), new("b"), new("c")];

    [Test]
    public void Pick_EmptyGroup_ReturnsMinusOne()
    {
        SharedGroup<TestSession, int> group = new(Utf8("g"));

        foreach (SharedSubscriptionStrategy strategy in Enum.GetValues<SharedSubscriptionStrategy>())
        {
            Assert.That(group.Pick(group.Members, strategy, 123), Is.EqualTo(-1), strategy.ToString());
        }
    }

    [Test]
    public void Pick_RoundRobin_TakesMembersInTurn()
    {
        SharedGroup<TestSession, int> group = NewGroup();
        SubscriberList<TestSession, int> members = group.Members;

        int[] picks = [.. Enumerable.Range(0, 7).Select(_ => group.Pick(members, SharedSubscriptionStrategy.RoundRobin, 0))];

        Assert.That(picks, Is.EqualTo(new[] { 0, 1, 2, 0, 1, 2, 0 }));
    }

    [Test]
    public void Pick_Random_StaysInRange_AndReachesEveryMember()
    {
        SharedGroup<TestSession, int> group = NewGroup();
        SubscriberList<TestSession, int> members = group.Members;

        int[] picks = [.. Enumerable.Range(0, 300).Select(_ => group.Pick(members, SharedSubscriptionStrategy.Random, 0))];

        Assert.That(picks, Is.All.InRange(0, 2));
        Assert.That(picks.Distinct().Order(), Is.EqualTo(new[] { 0, 1, 2 }));
    }

    [TestCase(SharedSubscriptionStrategy.HashClientId)]
    [TestCase(SharedSubscriptionStrategy.HashTopic)]
    public void Pick_Hash_IsTheHashModuloTheCount(SharedSubscriptionStrategy strategy)
    {
        SharedGroup<TestSession, int> group = NewGroup();
        SubscriberList<TestSession, int> members = group.Members;

        Assert.That(group.Pick(members, strategy, 7), Is.EqualTo(1));
        Assert.That(group.Pick(members, strategy, 7), Is.EqualTo(1));
        Assert.That(group.Pick(members, strategy, 9), Is.EqualTo(0));
        Assert.That(group.Pick(members, strategy, -1), Is.EqualTo((int)(uint.MaxValue % 3)), "negative hashes are taken as unsigned");
    }

    [Test]
    public void Pick_Sticky_KeepsTheMemberWhileItStays()
    {
        SharedGroup<TestSession, int> group = NewGroup();
        int first = group.Pick(group.Members, SharedSubscriptionStrategy.Sticky, 0);
        TestSession stuck = group.Members[first].Key;

        for (int i = 0; i < 20; i++)
        {
            SubscriberList<TestSession, int> members = group.Members;
            Assert.That(members[group.Pick(members, SharedSubscriptionStrategy.Sticky, i)].Key, Is.SameAs(stuck));
        }

        // Other members leaving (which moves indexes) does not unstick it.
        foreach (TestSession other in s_sessions.Where(s => s != stuck).Take(1))
        {
            group.Remove(other);
        }

        SubscriberList<TestSession, int> afterRemoval = group.Members;
        Assert.That(afterRemoval[group.Pick(afterRemoval, SharedSubscriptionStrategy.Sticky, 0)].Key, Is.SameAs(stuck));

        // When it leaves, the next pick chooses another and sticks to that one.
        group.Remove(stuck);
        SubscriberList<TestSession, int> remaining = group.Members;
        TestSession next = remaining[group.Pick(remaining, SharedSubscriptionStrategy.Sticky, 0)].Key;
        Assert.That(next, Is.Not.SameAs(stuck));
        Assert.That(remaining[group.Pick(remaining, SharedSubscriptionStrategy.Sticky, 0)].Key, Is.SameAs(next));
    }

    [Test]
    public void Stick_MovesStickyToTheMemberThatTookTheMessage()
    {
        SharedGroup<TestSession, int> group = NewGroup();
        SubscriberList<TestSession, int> members = group.Members;
        int first = group.Pick(members, SharedSubscriptionStrategy.Sticky, 0);
        int fallback = (first + 1) % members.Count;

        group.Stick(members[fallback].Key);

        Assert.That(group.Pick(members, SharedSubscriptionStrategy.Sticky, 0), Is.EqualTo(fallback));
        Assert.That(group.Pick(members, SharedSubscriptionStrategy.Sticky, 0), Is.EqualTo(fallback));
    }

    [TestCase(SharedSubscriptionStrategy.Random)]
    [TestCase(SharedSubscriptionStrategy.RoundRobin)]
    [TestCase(SharedSubscriptionStrategy.Sticky)]
    [TestCase(SharedSubscriptionStrategy.HashClientId)]
    [TestCase(SharedSubscriptionStrategy.HashTopic)]
    public void Fallback_FromThePick_VisitsEveryMemberOnce(SharedSubscriptionStrategy strategy)
    {
        SharedGroup<TestSession, int> group = NewGroup();
        SubscriberList<TestSession, int> members = group.Members;
        int first = group.Pick(members, strategy, 12345);
        List<TestSession> tried = [];

        for (int k = 0; first >= 0 && k < members.Count; k++)
        {
            tried.Add(members[(first + k) % members.Count].Key);
        }

        Assert.That(tried, Is.EquivalentTo(s_sessions));
    }

    [Test]
    public void Set_ExistingMember_ReplacesTheValueInPlace()
    {
        SharedGroup<TestSession, int> group = NewGroup();
        SubscriberList<TestSession, int> before = group.Members;

        Assert.That(group.Set(s_sessions[1], 42), Is.False);

        Assert.That(group.Members[1].Value, Is.EqualTo(42));
        Assert.That(before[1].Value, Is.EqualTo(1), "a snapshot never changes");
        Assert.That(group.Name, Is.EqualTo("g"));
    }

    private static SharedGroup<TestSession, int> NewGroup()
    {
        SharedGroup<TestSession, int> group = new(Utf8("g"));
        for (int i = 0; i < s_sessions.Length; i++)
        {
            Assert.That(group.Set(s_sessions[i], i), Is.True);
        }

        return group;
    }
}
