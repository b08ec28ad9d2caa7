using System.Text;
using Broker.Core.Topics;
using static Broker.Tests.Topics.TopicTestSupport;

namespace Broker.Tests.Topics;

[TestFixture]
public sealed class TopicValidatorTests
{
    [TestCase("sport/tennis/player1", ExpectedResult = true)]
    [TestCase("sport", ExpectedResult = true)]
    [TestCase("/", ExpectedResult = true)]
    [TestCase("/finance", ExpectedResult = true)]
    [TestCase("finance/", ExpectedResult = true)]
    [TestCase("a//b", ExpectedResult = true)]
    [TestCase("$SYS/monitor/Clients", ExpectedResult = true)]
    [TestCase("Accounts payable", ExpectedResult = true)]
    [TestCase("ACCOUNTS", ExpectedResult = true)]
    [TestCase("caf\u00e9/\u4e2d\u6587", ExpectedResult = true)]
    [TestCase("", ExpectedResult = false)] // [MQTT-4.7.3-1] at least one character
    [TestCase("sport/+", ExpectedResult = false)] // [MQTT-3.3.2-2] [MQTT-4.7.1-1] no wildcard in a topic name
    [TestCase("sport/#", ExpectedResult = false)] // [MQTT-3.3.2-2]
    [TestCase("+", ExpectedResult = false)] // [MQTT-3.3.2-2]
    [TestCase("#", ExpectedResult = false)] // [MQTT-3.3.2-2]
    [TestCase("sport+", ExpectedResult = false)] // [MQTT-3.3.2-2] anywhere, not only as a level
    [TestCase("a#b", ExpectedResult = false)] // [MQTT-3.3.2-2]
    [TestCase("a\0b", ExpectedResult = false)] // [MQTT-4.7.3-2] no U+0000
    public bool IsValidTopicName(string topic) => TopicValidator.IsValidTopicName(Utf8(topic));

    [TestCase("sport/tennis/player1/#", ExpectedResult = true)]
    [TestCase("sport/#", ExpectedResult = true)]
    [TestCase("#", ExpectedResult = true)]
    [TestCase("sport/tennis/#", ExpectedResult = true)]
    [TestCase("sport/tennis/+", ExpectedResult = true)]
    [TestCase("+", ExpectedResult = true)]
    [TestCase("+/tennis/#", ExpectedResult = true)]
    [TestCase("sport/+/player1", ExpectedResult = true)]
    [TestCase("+/+", ExpectedResult = true)]
    [TestCase("/+", ExpectedResult = true)]
    [TestCase("+/", ExpectedResult = true)]
    [TestCase("+//+", ExpectedResult = true)]
    [TestCase("/#", ExpectedResult = true)]
    [TestCase("$SYS/#", ExpectedResult = true)]
    [TestCase("$SYS/monitor/+", ExpectedResult = true)]
    [TestCase("+/monitor/Clients", ExpectedResult = true)]
    [TestCase("/", ExpectedResult = true)]
    [TestCase("a//b", ExpectedResult = true)]
    [TestCase("Accounts payable", ExpectedResult = true)]
    [TestCase("$share/g/a", ExpectedResult = true)] // the shared prefix is the caller's to strip; as a plain filter it is well-formed
    [TestCase("", ExpectedResult = false)] // [MQTT-4.7.3-1] at least one character
    [TestCase("sport/tennis#", ExpectedResult = false)] // [MQTT-4.7.1-2] '#' must follow a separator
    [TestCase("sport/tennis/#/ranking", ExpectedResult = false)] // [MQTT-4.7.1-2] '#' must be last
    [TestCase("#/", ExpectedResult = false)] // [MQTT-4.7.1-2] '#' must be the last character
    [TestCase("##", ExpectedResult = false)] // [MQTT-4.7.1-2]
    [TestCase("a/#b", ExpectedResult = false)] // [MQTT-4.7.1-2] '#' must be the whole level
    [TestCase("+#", ExpectedResult = false)] // [MQTT-4.7.1-2] [MQTT-4.7.1-3]
    [TestCase("sport+", ExpectedResult = false)] // [MQTT-4.7.1-3] '+' must occupy an entire level
    [TestCase("+sport", ExpectedResult = false)] // [MQTT-4.7.1-3]
    [TestCase("sport/+tennis/x", ExpectedResult = false)] // [MQTT-4.7.1-3]
    [TestCase("sport/ten+nis", ExpectedResult = false)] // [MQTT-4.7.1-3]
    [TestCase("++", ExpectedResult = false)] // [MQTT-4.7.1-3]
    [TestCase("a/\0", ExpectedResult = false)] // [MQTT-4.7.3-2] no U+0000
    public bool IsValidTopicFilter(string filter) => TopicValidator.IsValidTopicFilter(Utf8(filter));

    [Test]
    public void Length_UpTo65535Bytes_IsValid_AndOneMoreIsNot()
    {
        // [MQTT-4.7.3-3] a UTF-8 encoded string is at most 65535 bytes.
        byte[] longest = new byte[TopicValidator.MaximumLength];
        longest.AsSpan().Fill((byte)'a');
        byte[] tooLong = new byte[TopicValidator.MaximumLength + 1];
        tooLong.AsSpan().Fill((byte)'a');

        Assert.That(TopicValidator.IsValidTopicName(longest), Is.True);
        Assert.That(TopicValidator.IsValidTopicFilter(longest), Is.True);
        Assert.That(TopicValidator.IsValidTopicName(tooLong), Is.False);
        Assert.That(TopicValidator.IsValidTopicFilter(tooLong), Is.False);
    }

    [TestCase("a/b/c", 3, ExpectedResult = true)]
    [TestCase("a/b/c", 2, ExpectedResult = false)] // EMQX mqtt.max_topic_levels
    [TestCase("a//", 3, ExpectedResult = true)]
    [TestCase("a//", 2, ExpectedResult = false)] // empty levels count
    [TestCase("a/b/c", 0, ExpectedResult = true)]
    public bool IsValidTopicName_LevelLimit(string topic, int maxLevels) => TopicValidator.IsValidTopicName(Utf8(topic), maxLevels);

    [TestCase("a/+/#", 3, ExpectedResult = true)]
    [TestCase("a/+/#", 2, ExpectedResult = false)] // EMQX mqtt.max_topic_levels
    [TestCase("#", 1, ExpectedResult = true)]
    public bool IsValidTopicFilter_LevelLimit(string filter, int maxLevels) => TopicValidator.IsValidTopicFilter(Utf8(filter), maxLevels);

    [TestCase("$share/consumer1/sport/tennis/+", "consumer1", "sport/tennis/+")]
    [TestCase("$share/consumer2/sport/tennis/+", "consumer2", "sport/tennis/+")]
    [TestCase("$share/consumer1//finance", "consumer1", "/finance")]
    [TestCase("$share/consumer1/+/finance", "consumer1", "+/finance")]
    [TestCase("$share/g/#", "g", "#")]
    [TestCase("$share/$queue/a", "$queue", "a")]
    [TestCase("$share/g/$share/h/a", "g", "$share/h/a")]
    [TestCase("$queue/a/b", "$queue", "a/b")]
    [TestCase("$queue//", "$queue", "/")]
    public void ParseShared_SharedForms(string filter, string group, string topicFilter)
    {
        SharedParseResult result = TopicValidator.ParseShared(Utf8(filter), out ReadOnlySpan<byte> parsedGroup, out ReadOnlySpan<byte> parsedFilter);

        Assert.That(result, Is.EqualTo(SharedParseResult.Shared));
        Assert.That(Encoding.UTF8.GetString(parsedGroup), Is.EqualTo(group));
        Assert.That(Encoding.UTF8.GetString(parsedFilter), Is.EqualTo(topicFilter));
        Assert.That(TopicValidator.TryParseShared(Utf8(filter), out _, out _), Is.True);
    }

    [TestCase("sport/tennis", SharedParseResult.NotShared)]
    [TestCase("#", SharedParseResult.NotShared)]
    [TestCase("$SYS/#", SharedParseResult.NotShared)]
    [TestCase("$share", SharedParseResult.NotShared)] // no "/": an ordinary filter, as EMQX reads it
    [TestCase("$queue", SharedParseResult.NotShared)]
    [TestCase("$sharex/g/a", SharedParseResult.NotShared)]
    [TestCase("share/g/a", SharedParseResult.NotShared)]
    [TestCase("$SHARE/g/a", SharedParseResult.NotShared)] // [MQTT-4.7.3-4] case-sensitive
    [TestCase("$share/", SharedParseResult.Invalid)] // [MQTT-4.8.2-1] a share name of at least one character
    [TestCase("$share//finance", SharedParseResult.Invalid)] // [MQTT-4.8.2-1]
    [TestCase("$share/g", SharedParseResult.Invalid)] // [MQTT-4.8.2-2] the share name must be followed by "/"
    [TestCase("$share/g/", SharedParseResult.Invalid)] // [MQTT-4.8.2-2] and then by a topic filter
    [TestCase("$share/g+/a", SharedParseResult.Invalid)] // [MQTT-4.8.2-2] no '+' in the share name
    [TestCase("$share/+/a", SharedParseResult.Invalid)] // [MQTT-4.8.2-2]
    [TestCase("$share/g#/a", SharedParseResult.Invalid)] // [MQTT-4.8.2-2] no '#' in the share name
    [TestCase("$share/#", SharedParseResult.Invalid)] // [MQTT-4.8.2-2]
    [TestCase("$queue/", SharedParseResult.Invalid)] // [MQTT-4.8.2-2] a topic filter must follow
    public void ParseShared_OtherForms(string filter, SharedParseResult expected)
    {
        SharedParseResult result = TopicValidator.ParseShared(Utf8(filter), out ReadOnlySpan<byte> group, out ReadOnlySpan<byte> topicFilter);

        Assert.That(result, Is.EqualTo(expected));
        Assert.That(group.IsEmpty && topicFilter.IsEmpty, Is.True);
        Assert.That(TopicValidator.TryParseShared(Utf8(filter), out _, out _), Is.False);
    }

    [TestCase("g", ExpectedResult = true)]
    [TestCase("$queue", ExpectedResult = true)]
    [TestCase("", ExpectedResult = false)] // [MQTT-4.8.2-1]
    [TestCase("a/b", ExpectedResult = false)] // [MQTT-4.8.2-2]
    [TestCase("a+", ExpectedResult = false)] // [MQTT-4.8.2-2]
    [TestCase("#", ExpectedResult = false)] // [MQTT-4.8.2-2]
    public bool IsValidShareName(string name) => TopicValidator.IsValidShareName(Utf8(name));

    [TestCase("a/b", ExpectedResult = false)]
    [TestCase("a/+", ExpectedResult = true)]
    [TestCase("#", ExpectedResult = true)]
    [TestCase("a+b", ExpectedResult = true)]
    [TestCase("$SYS", ExpectedResult = false)]
    public bool HasWildcards(string filter) => TopicValidator.HasWildcards(Utf8(filter));

    [TestCaseSource(typeof(TopicMatchCases), nameof(TopicMatchCases.All))]
    public bool Matches(string filter, string topic) => TopicValidator.Matches(Utf8(filter), Utf8(topic));
}
