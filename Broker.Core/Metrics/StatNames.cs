using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Broker.Core.Metrics;

/// <summary>
/// The EMQX names of the <see cref="StatId"/> gauges and of their <c>.count</c> / <c>.max</c> keys, in v4 dotted form
/// (<c>subscriptions.shared.count</c>) and v3 slash form (<c>subscriptions/shared/count</c>). Built once.
/// </summary>
public static class StatNames
{
    /// <summary>The number of <see cref="StatId"/> values.</summary>
    public const int Count = 13;

    // Indexed by StatId; the order must match the enum.
    private static readonly string[] s_names =
    [
        "connections",
        "channels",
        "sessions",
        "topics",
        "subscribers",
        "subscriptions",
        "subscriptions.shared",
        "suboptions",
        "retained",
        "routes",
        "rules",
        "resources",
        "actions",
    ];

    private static readonly string[] s_countNames = Suffixed(".count", v3: false);
    private static readonly string[] s_maxNames = Suffixed(".max", v3: false);
    private static readonly string[] s_v3CountNames = Suffixed(".count", v3: true);
    private static readonly string[] s_v3MaxNames = Suffixed(".max", v3: true);
    private static readonly FrozenDictionary<string, StatId> s_byName = BuildLookup();

    /// <summary>The gauge's name without suffix, e.g. <c>subscriptions.shared</c>.</summary>
    public static string GetName(StatId id) => s_names[Index(id)];

    /// <summary>The key of the current value: <c>connections.count</c>, or <c>connections/count</c> for v3.</summary>
    public static string GetCountName(StatId id, bool v3Names = false) => (v3Names ? s_v3CountNames : s_countNames)[Index(id)];

    /// <summary>The key of the high-water mark: <c>connections.max</c>, or <c>connections/max</c> for v3.</summary>
    public static string GetMaxName(StatId id, bool v3Names = false) => (v3Names ? s_v3MaxNames : s_maxNames)[Index(id)];

    /// <summary>Parses a gauge name without suffix, dotted or slashed (<c>subscriptions/shared</c>).</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out StatId id)
    {
        if (name is not null && s_byName.TryGetValue(name, out id))
        {
            return true;
        }

        id = default;
        return false;
    }

    internal static int Index(StatId id)
    {
        if ((uint)id >= Count)
        {
            MetricsThrow.InvalidStat(id);
        }

        return (int)id;
    }

    private static string[] Suffixed(string suffix, bool v3)
    {
        string[] names = new string[Count];
        for (int i = 0; i < names.Length; i++)
        {
            string name = s_names[i] + suffix;
            names[i] = v3 ? name.Replace('.', '/') : name;
        }

        return names;
    }

    private static FrozenDictionary<string, StatId> BuildLookup()
    {
        Dictionary<string, StatId> lookup = new(2 * Count, StringComparer.Ordinal);
        for (int i = 0; i < Count; i++)
        {
            lookup.Add(s_names[i], (StatId)i);
            lookup.TryAdd(s_names[i].Replace('.', '/'), (StatId)i);
        }

        return lookup.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
