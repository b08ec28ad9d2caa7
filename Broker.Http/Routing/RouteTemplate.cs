namespace Broker.Http.Routing;

/// <summary>
/// A route path such as <c>/clients/{clientid}/acl_cache</c> or <c>/routes/{*topic}</c>: literal segments, named
/// segments (<c>{name}</c>, one percent-decoded segment) and a final catch-all (<c>{*name}</c>, the rest of the path
/// with its slashes, so an unencoded topic such as <c>/routes//test</c> still reaches the route).
/// </summary>
public sealed class RouteTemplate
{
    private readonly string[] _segments;
    private readonly bool[] _isParameter;

    public RouteTemplate(string template)
    {
        ArgumentException.ThrowIfNullOrEmpty(template);
        Text = template;
        _segments = template.Trim('/').Split('/', StringSplitOptions.None);
        if (_segments is [""])
        {
            _segments = [];
        }

        _isParameter = new bool[_segments.Length];
        for (int i = 0; i < _segments.Length; i++)
        {
            string segment = _segments[i];
            if (segment.Length > 2 && segment[0] == '{' && segment[^1] == '}')
            {
                _isParameter[i] = true;
                string name = segment[1..^1];
                if (name.StartsWith('*'))
                {
                    if (i != _segments.Length - 1)
                    {
                        throw new ArgumentException($"The catch-all segment must be last: {template}", nameof(template));
                    }

                    HasCatchAll = true;
                    name = name[1..];
                }

                _segments[i] = name;
            }
            else
            {
                LiteralCount++;
            }
        }
    }

    /// <summary>The template as written, for example <c>/clients/{clientid}</c>.</summary>
    public string Text { get; }

    /// <summary>Literal segments; a route with more of them wins over one with parameters where both match.</summary>
    public int LiteralCount { get; }

    public bool HasCatchAll { get; }

    /// <summary>The template in EMQX's listing form, <c>/clients/:clientid</c>.</summary>
    public string DisplayPath
    {
        get
        {
            var parts = new string[_segments.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                parts[i] = _isParameter[i] ? ":" + _segments[i] : _segments[i];
            }

            return "/" + string.Join('/', parts);
        }
    }

    /// <summary>Matches raw (percent-encoded) path segments; parameter values are decoded.</summary>
    public bool TryMatch(IReadOnlyList<string> rawSegments, out RouteValues values)
    {
        values = RouteValues.Empty;
        int count = _segments.Length;
        if (HasCatchAll ? rawSegments.Count < count : rawSegments.Count != count)
        {
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            if (!_isParameter[i] && !string.Equals(_segments[i], Unescape(rawSegments[i]), StringComparison.Ordinal))
            {
                return false;
            }
        }

        if (count == LiteralCount)
        {
            return true;
        }

        var pairs = new KeyValuePair<string, string>[count - LiteralCount];
        int p = 0;
        for (int i = 0; i < count; i++)
        {
            if (!_isParameter[i])
            {
                continue;
            }

            string value = HasCatchAll && i == count - 1
                ? Unescape(string.Join('/', rawSegments.Skip(i)))
                : Unescape(rawSegments[i]);
            if (value.Length == 0)
            {
                return false;
            }

            pairs[p++] = new(_segments[i], value);
        }

        values = new RouteValues(pairs);
        return true;
    }

    private static string Unescape(string segment) => segment.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(segment) : segment;
}

/// <summary>The decoded values of a matched route's parameters.</summary>
public sealed class RouteValues
{
    private readonly KeyValuePair<string, string>[] _pairs;

    internal RouteValues(KeyValuePair<string, string>[] pairs) => _pairs = pairs;

    public static RouteValues Empty { get; } = new([]);

    /// <summary>The value of <c>{name}</c>; throws if the route has no such parameter (a bug in the route).</summary>
    public string this[string name] => TryGet(name, out string? value) ? value : throw new KeyNotFoundException(name);

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        foreach (KeyValuePair<string, string> pair in _pairs)
        {
            if (string.Equals(pair.Key, name, StringComparison.Ordinal))
            {
                value = pair.Value;
                return true;
            }
        }

        value = null;
        return false;
    }
}
