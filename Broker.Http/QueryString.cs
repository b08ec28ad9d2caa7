using System.Net;

namespace Broker.Http;

/// <summary>
/// A parsed query string: name/value pairs in order, percent-decoded (<c>+</c> is a space), repeated names kept
/// (<c>clientid=a&amp;clientid=b</c>).
/// </summary>
public sealed class QueryString
{
    private readonly List<KeyValuePair<string, string>> _pairs;

    private QueryString(List<KeyValuePair<string, string>> pairs) => _pairs = pairs;

    public static QueryString Empty { get; } = new([]);

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public int Count => _pairs.Count;

    /// <summary>Parses the part after <c>?</c>.</summary>
    public static QueryString Parse(ReadOnlySpan<char> query)
    {
        if (query.StartsWith('?'))
        {
            query = query[1..];
        }

        var pairs = new List<KeyValuePair<string, string>>();
        foreach (Range range in query.Split('&'))
        {
            ReadOnlySpan<char> part = query[range];
            if (part.IsEmpty)
            {
                continue;
            }

            int equals = part.IndexOf('=');
            string name = Decode(equals < 0 ? part : part[..equals]);
            string value = equals < 0 ? string.Empty : Decode(part[(equals + 1)..]);
            pairs.Add(new(name, value));
        }

        return pairs.Count == 0 ? Empty : new QueryString(pairs);
    }

    /// <summary>The first value of <paramref name="name"/>, or null.</summary>
    public string? Get(string name)
    {
        foreach (KeyValuePair<string, string> pair in _pairs)
        {
            if (string.Equals(pair.Key, name, StringComparison.Ordinal))
            {
                return pair.Value;
            }
        }

        return null;
    }

    /// <summary>Every value of <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> GetAll(string name)
    {
        List<string>? values = null;
        foreach (KeyValuePair<string, string> pair in _pairs)
        {
            if (string.Equals(pair.Key, name, StringComparison.Ordinal))
            {
                (values ??= []).Add(pair.Value);
            }
        }

        return values ?? (IReadOnlyList<string>)[];
    }

    public bool Contains(string name) => Get(name) is not null;

    private static string Decode(ReadOnlySpan<char> value) => WebUtility.UrlDecode(value.ToString());
}
