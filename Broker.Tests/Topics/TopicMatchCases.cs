namespace Broker.Tests.Topics;

/// <summary>Filter, topic, whether it matches: the examples of MQTT 3.1.1 and 5.0 section 4.7, plus edge cases.</summary>
internal static class TopicMatchCases
{
    public static IEnumerable<TestCaseData> All()
    {
        // 4.7.1.2 multi-level wildcard.
        yield return Case("sport/tennis/player1/#", "sport/tennis/player1", true);
        yield return Case("sport/tennis/player1/#", "sport/tennis/player1/ranking", true);
        yield return Case("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true);
        yield return Case("sport/#", "sport", true); // [MQTT-4.7.1-2] '#' includes the parent level
        yield return Case("sport/tennis/#", "sport/tennis", true);
        yield return Case("sport/tennis/#", "sport", false);
        yield return Case("#", "sport", true);
        yield return Case("#", "/", true);
        yield return Case("a/#", "a/b/c", true);
        yield return Case("a/#", "ab", false);

        // 4.7.1.3 single-level wildcard.
        yield return Case("sport/tennis/+", "sport/tennis/player1", true);
        yield return Case("sport/tennis/+", "sport/tennis/player2", true);
        yield return Case("sport/tennis/+", "sport/tennis/player1/ranking", false);
        yield return Case("sport/+", "sport", false);
        yield return Case("sport/+", "sport/", true);
        yield return Case("+/+", "/finance", true);
        yield return Case("/+", "/finance", true);
        yield return Case("+", "/finance", false);
        yield return Case("+", "a", true);
        yield return Case("+/+", "a", false);
        yield return Case("a/+/b", "a//b", true); // '+' matches an empty level
        yield return Case("+/+/+", "//", true);
        yield return Case("sport/+/player1", "sport/tennis/player1", true);
        yield return Case("+/#", "a", true);

        // 4.7.2 topics beginning with '$' [MQTT-4.7.2-1].
        yield return Case("#", "$SYS/x", false);
        yield return Case("#", "$SYS", false);
        yield return Case("+/monitor/Clients", "$SYS/monitor/Clients", false);
        yield return Case("+/x", "$SYS/x", false);
        yield return Case("+/#", "$SYS/x", false);
        yield return Case("$SYS/#", "$SYS/monitor/Clients", true);
        yield return Case("$SYS/#", "$SYS", true);
        yield return Case("$SYS/monitor/+", "$SYS/monitor/Clients", true);
        yield return Case("$SYS", "$SYS", true);
        yield return Case("a/+", "a/$x", true); // the rule is about the first level only
        yield return Case("a/#", "a/$x/y", true);

        // 4.7.3 topic semantics: case-sensitive, no normalization, leading and trailing '/' make levels.
        yield return Case("ACCOUNTS", "Accounts", false);
        yield return Case("Accounts payable", "Accounts payable", true);
        yield return Case("/finance", "finance", false);
        yield return Case("finance", "/finance", false);
        yield return Case("finance/", "finance", false);
        yield return Case("/", "/", true);
        yield return Case("a/b", "a/b", true);
        yield return Case("a/b", "a/b/c", false);
        yield return Case("a/b/c", "a/b", false);
        yield return Case("a/b", "a/bc", false);
    }

    private static TestCaseData Case(string filter, string topic, bool matches)
        => new TestCaseData(filter, topic).Returns(matches).SetArgDisplayNames($"\"{filter}\" vs \"{topic}\"");
}
