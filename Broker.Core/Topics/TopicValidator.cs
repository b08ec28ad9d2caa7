using System.Buffers;

namespace Broker.Core.Topics;

/// <summary>
/// MQTT topic rules on UTF-8 bytes: topic names, topic filters, shared subscription prefixes, and matching one filter
/// against one topic. UTF-8 well-formedness is the codec's job; these methods check the MQTT rules on top of it.
/// </summary>
public static class TopicValidator
{
    /// <summary>The longest topic name or filter: a UTF-8 string's two-byte length prefix [MQTT-4.7.3-3].</summary>
    public const int MaximumLength = 65535;

    private const byte SingleLevelWildcard = (byte)'+';
    private const byte MultiLevelWildcard = (byte)'#';

    private static readonly SearchValues<byte> s_wildcards = SearchValues.Create("+#"u8);
    private static readonly SearchValues<byte> s_wildcardsOrNull = SearchValues.Create("+#\0"u8);
    private static readonly SearchValues<byte> s_shareNameForbidden = SearchValues.Create("/+#"u8);

    /// <summary>
    /// A topic name as PUBLISH and the will carry it: 1 to 65535 bytes [MQTT-4.7.3-1] [MQTT-4.7.3-3], no wildcard
    /// [MQTT-3.3.2-2], no U+0000 [MQTT-4.7.3-2], and at most <paramref name="maxLevels"/> levels when that is above 0.
    /// </summary>
    public static bool IsValidTopicName(ReadOnlySpan<byte> topic, int maxLevels = 0)
        => !topic.IsEmpty
            && topic.Length <= MaximumLength
            && !topic.ContainsAny(s_wildcardsOrNull)
            && (maxLevels <= 0 || TopicLevels.Count(topic) <= maxLevels);

    /// <summary>
    /// A topic filter without its <c>$share/&lt;group&gt;/</c> prefix (see <see cref="ParseShared"/>): 1 to 65535 bytes,
    /// no U+0000, <c>'#'</c> only as the whole last level [MQTT-4.7.1-2], <c>'+'</c> only as a whole level [MQTT-4.7.1-3],
    /// and at most <paramref name="maxLevels"/> levels when that is above 0.
    /// </summary>
    public static bool IsValidTopicFilter(ReadOnlySpan<byte> filter, int maxLevels = 0)
    {
        if (filter.IsEmpty || filter.Length > MaximumLength)
        {
            return false;
        }

        int offset = 0;
        int found;
        while ((found = filter[offset..].IndexOfAny(s_wildcardsOrNull)) >= 0)
        {
            int at = offset + found;
            byte wildcard = filter[at];
            bool startsLevel = at == 0 || filter[at - 1] == TopicLevels.Separator;
            bool isLast = at == filter.Length - 1;
            bool endsLevel = isLast || filter[at + 1] == TopicLevels.Separator;
            if (wildcard == 0 || !startsLevel || !endsLevel || (wildcard == MultiLevelWildcard && !isLast))
            {
                return false;
            }

            offset = at + 1;
        }

        return maxLevels <= 0 || TopicLevels.Count(filter) <= maxLevels;
    }

    /// <summary>Whether a share name is well-formed: at least one byte [MQTT-4.8.2-1], no <c>'/'</c>, <c>'+'</c> or <c>'#'</c> [MQTT-4.8.2-2].</summary>
    public static bool IsValidShareName(ReadOnlySpan<byte> shareName)
        => !shareName.IsEmpty && !shareName.ContainsAny(s_shareNameForbidden);

    /// <summary>
    /// Splits <c>$share/&lt;group&gt;/&lt;filter&gt;</c> [MQTT-4.8.2] and EMQX's <c>$queue/&lt;filter&gt;</c> (whose group is
    /// the literal <c>$queue</c>, as EMQX names it). Only the prefix shape is checked: a <see cref="SharedParseResult.Shared"/>
    /// answer still needs <see cref="IsValidTopicFilter"/> on <paramref name="topicFilter"/>. <c>$share</c> and <c>$queue</c>
    /// without the slash are ordinary filters. On anything but <see cref="SharedParseResult.Shared"/> both outputs are empty.
    /// </summary>
    public static SharedParseResult ParseShared(ReadOnlySpan<byte> filter, out ReadOnlySpan<byte> group, out ReadOnlySpan<byte> topicFilter)
    {
        group = default;
        topicFilter = default;
        if (filter.StartsWith("$queue/"u8))
        {
            ReadOnlySpan<byte> rest = filter["$queue/".Length..];
            if (rest.IsEmpty)
            {
                return SharedParseResult.Invalid;
            }

            group = filter[.."$queue".Length];
            topicFilter = rest;
            return SharedParseResult.Shared;
        }

        if (!filter.StartsWith("$share/"u8))
        {
            return SharedParseResult.NotShared;
        }

        ReadOnlySpan<byte> afterPrefix = filter["$share/".Length..];
        int separator = afterPrefix.IndexOf(TopicLevels.Separator);

        // [MQTT-4.8.2-1] a share name of at least one character; [MQTT-4.8.2-2] followed by '/' and a topic filter.
        if (separator < 0 || !IsValidShareName(afterPrefix[..separator]) || separator == afterPrefix.Length - 1)
        {
            return SharedParseResult.Invalid;
        }

        group = afterPrefix[..separator];
        topicFilter = afterPrefix[(separator + 1)..];
        return SharedParseResult.Shared;
    }

    /// <summary>
    /// <see cref="ParseShared"/> for callers that only care about well-formed shared filters: false both for a normal
    /// filter and for a malformed shared one. The SUBSCRIBE path must use <see cref="ParseShared"/> so that
    /// <c>$share//x</c> is refused with 0x8F instead of being taken as an ordinary filter.
    /// </summary>
    public static bool TryParseShared(ReadOnlySpan<byte> filter, out ReadOnlySpan<byte> group, out ReadOnlySpan<byte> topicFilter)
        => ParseShared(filter, out group, out topicFilter) == SharedParseResult.Shared;

    /// <summary>Whether a filter contains <c>'+'</c> or <c>'#'</c>.</summary>
    public static bool HasWildcards(ReadOnlySpan<byte> filter) => filter.ContainsAny(s_wildcards);

    /// <summary>
    /// Whether a valid topic filter matches a valid topic name, for single checks (ACL rules, retained messages);
    /// routing uses <see cref="TopicTrie{TKey, TValue}"/>.
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> filter, ReadOnlySpan<byte> topic)
    {
        // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
        if (!topic.IsEmpty && topic[0] == (byte)'$' && !filter.IsEmpty && (filter[0] == SingleLevelWildcard || filter[0] == MultiLevelWildcard))
        {
            return false;
        }

        TopicLevels topicLevels = new(topic);
        foreach (ReadOnlySpan<byte> filterLevel in new TopicLevels(filter))
        {
            // [MQTT-4.7.1-2] '#' matches the parent level and any number of child levels, so "sport/#" matches "sport".
            if (IsMultiLevelWildcard(filterLevel))
            {
                return true;
            }

            if (!topicLevels.MoveNext())
            {
                return false;
            }

            // '+' matches exactly one level, an empty one included ("a/+/b" matches "a//b").
            if (!IsSingleLevelWildcard(filterLevel) && !filterLevel.SequenceEqual(topicLevels.Current))
            {
                return false;
            }
        }

        return !topicLevels.MoveNext();
    }

    internal static bool IsSingleLevelWildcard(ReadOnlySpan<byte> level) => level.Length == 1 && level[0] == SingleLevelWildcard;

    internal static bool IsMultiLevelWildcard(ReadOnlySpan<byte> level) => level.Length == 1 && level[0] == MultiLevelWildcard;
}
