using Broker.Core.Topics;
using static Broker.Tests.Topics.TopicTestSupport;

namespace Broker.Tests.Topics;

[TestFixture]
public sealed class TopicLevelsTests
{
    [TestCase("a", new[] { "a" })]
    [TestCase("sport/tennis/player1", new[] { "sport", "tennis", "player1" })]
    [TestCase("a//b", new[] { "a", "", "b" })]
    [TestCase("/", new[] { "", "" })]
    [TestCase("/finance", new[] { "", "finance" })]
    [TestCase("finance/", new[] { "finance", "" })]
    [TestCase("", new[] { "" })]
    public void Enumerate_SplitsOnSlash_KeepingEmptyLevels(string topic, string[] expected)
    {
        List<string> levels = [];
        List<bool> lasts = [];
        TopicLevels enumerator = new(Utf8(topic));
        while (enumerator.MoveNext())
        {
            levels.Add(System.Text.Encoding.UTF8.GetString(enumerator.Current));
            lasts.Add(enumerator.IsLast);
        }

        Assert.That(levels, Is.EqualTo(expected));
        Assert.That(lasts, Is.EqualTo(expected.Select((_, i) => i == expected.Length - 1)));
        Assert.That(TopicLevels.Count(Utf8(topic)), Is.EqualTo(expected.Length));
    }

    [Test]
    public void Next_WalksByOffset_AndEndsPastTheLength()
    {
        byte[] topic = Utf8("a//bc");
        List<string> levels = [];
        for (int start = 0; start <= topic.Length;)
        {
            levels.Add(System.Text.Encoding.UTF8.GetString(TopicLevels.Next(topic, start, out int next)));
            start = next;
        }

        Assert.That(levels, Is.EqualTo(new[] { "a", "", "bc" }));
    }
}
