using System.Globalization;

namespace Broker.Http;

/// <summary>
/// Builds the row predicate of a filtered list from its query string, the way EMQX 4.4's <c>emqx_mgmt_api</c> reads
/// one: exact parameters (<c>clientid</c>; repeated values match any of them, as EMQX 5.6+ allows), <c>_like_x</c>
/// (case-sensitive substring), <c>_gte_x</c>/<c>_lte_x</c> ranges, and unknown parameters ignored. A value that does not
/// convert ends the request with EMQX's 200 <c>{"code":108,"message":"Can't convert …"}</c>.
/// <code>
/// Func&lt;ClientRow, bool&gt;? filter = new QueryFilter&lt;ClientRow&gt;(call.Query)
///     .Exact("clientid", r =&gt; r.ClientId).Like("_like_clientid", r =&gt; r.ClientId).Build();
/// </code>
/// </summary>
public sealed class QueryFilter<T>
{
    private readonly QueryString _query;
    private readonly List<Func<T, bool>> _predicates = [];

    public QueryFilter(QueryString query) => _query = query ?? throw new ArgumentNullException(nameof(query));

    /// <summary>Exact string match; several values of the parameter match any of them.</summary>
    public QueryFilter<T> Exact(string name, Func<T, string?> field)
    {
        ArgumentNullException.ThrowIfNull(field);
        IReadOnlyList<string> values = _query.GetAll(name);
        if (values.Count == 1)
        {
            string value = values[0];
            _predicates.Add(row => string.Equals(field(row), value, StringComparison.Ordinal));
        }
        else if (values.Count > 1)
        {
            var set = new HashSet<string>(values, StringComparer.Ordinal);
            _predicates.Add(row => field(row) is { } actual && set.Contains(actual));
        }

        return this;
    }

    /// <summary>Exact integer match (<c>proto_ver</c>, <c>qos</c>).</summary>
    public QueryFilter<T> Int(string name, Func<T, long> field)
    {
        ArgumentNullException.ThrowIfNull(field);
        IReadOnlyList<string> values = _query.GetAll(name);
        if (values.Count > 0)
        {
            var set = new HashSet<long>();
            foreach (string value in values)
            {
                set.Add(ToInteger(value));
            }

            _predicates.Add(row => set.Contains(field(row)));
        }

        return this;
    }

    /// <summary>Exact boolean match (<c>clean_start=true</c>).</summary>
    public QueryFilter<T> Bool(string name, Func<T, bool> field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (_query.Get(name) is { } text)
        {
            bool value = text switch
            {
                "true" => true,
                "false" => false,
                _ => throw new ApiException(V4.Error(ResultCode.BadParameter, $"Can't convert <<\"{text}\">> to atom type")),
            };
            _predicates.Add(row => field(row) == value);
        }

        return this;
    }

    /// <summary>Case-sensitive substring match (<c>_like_clientid</c>).</summary>
    public QueryFilter<T> Like(string name, Func<T, string?> field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (_query.Get(name) is { } part)
        {
            _predicates.Add(row => field(row) is { } actual && actual.Contains(part, StringComparison.Ordinal));
        }

        return this;
    }

    /// <summary><c>_gte_{name}</c> and <c>_lte_{name}</c>, inclusive, merged into one range.</summary>
    public QueryFilter<T> Range(string name, Func<T, long?> field, Func<long, long>? convert = null)
    {
        ArgumentNullException.ThrowIfNull(field);
        string? gteText = _query.Get("_gte_" + name);
        string? lteText = _query.Get("_lte_" + name);
        if (gteText is null && lteText is null)
        {
            return this;
        }

        long gte = gteText is null ? long.MinValue : Convert(ToInteger(gteText), convert);
        long lte = lteText is null ? long.MaxValue : Convert(ToInteger(lteText), convert);
        _predicates.Add(row => field(row) is { } value && value >= gte && value <= lte);
        return this;

        static long Convert(long value, Func<long, long>? convert) => convert is null ? value : convert(value);
    }

    /// <summary>Any other condition, applied when <paramref name="name"/> is present (for example <c>_match_topic</c>).</summary>
    public QueryFilter<T> Custom(string name, Func<string, Func<T, bool>> predicateFor)
    {
        ArgumentNullException.ThrowIfNull(predicateFor);
        if (_query.Get(name) is { } value)
        {
            _predicates.Add(predicateFor(value));
        }

        return this;
    }

    /// <summary>The conjunction of the conditions present, or null when the query has none (unfiltered: count is the total).</summary>
    public Func<T, bool>? Build()
    {
        if (_predicates.Count == 0)
        {
            return null;
        }

        Func<T, bool>[] predicates = [.. _predicates];
        return row =>
        {
            foreach (Func<T, bool> predicate in predicates)
            {
                if (!predicate(row))
                {
                    return false;
                }
            }

            return true;
        };
    }

    private static long ToInteger(string text)
        => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new ApiException(V4.Error(ResultCode.BadParameter, $"Can't convert <<\"{text}\">> to integer type"));
}
