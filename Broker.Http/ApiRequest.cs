namespace Broker.Http;

/// <summary>
/// One HTTP request as the handlers see it, whatever server received it: method, path, query, headers and the body
/// bytes. The path is the raw (still percent-encoded) path without the query, so that an encoded <c>%2F</c> inside a
/// route segment (<c>/routes/a%2Fb</c>) is told apart from a separator.
/// </summary>
public sealed class ApiRequest
{
    public ApiRequest(string method, string rawPath, QueryString? query = null, IReadOnlyDictionary<string, string>? headers = null, ReadOnlyMemory<byte> body = default)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(rawPath);
        Method = method.ToUpperInvariant();
        RawPath = rawPath;
        Query = query ?? QueryString.Empty;
        Headers = headers ?? s_noHeaders;
        Body = body;
    }

    private static readonly IReadOnlyDictionary<string, string> s_noHeaders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Upper-case method: GET, POST, PUT, DELETE...</summary>
    public string Method { get; }

    /// <summary>The path as sent, percent-encoded, without the query.</summary>
    public string RawPath { get; }

    public QueryString Query { get; }

    /// <summary>Request headers by case-insensitive name (repeated headers joined with a comma).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>
    /// The raw query string without the <c>?</c>, as sent (still percent-encoded); set by the hosts, empty otherwise.
    /// Proxy routes forward it unchanged.
    /// </summary>
    public string RawQuery { get; init; } = string.Empty;

    /// <summary>
    /// The unread request body, for streaming routes only (<see cref="ManagementApi.IsStreamingPath"/>): the host then
    /// leaves <see cref="Body"/> empty and the handler reads this instead, so a large body is never held whole.
    /// </summary>
    public Stream? BodyStream { get; init; }

    /// <summary>The body's Content-Length when <see cref="BodyStream"/> is set and the length is known.</summary>
    public long? BodyLength { get; init; }

    /// <summary>Builds a request from a target such as <c>/api/v4/clients?_page=2</c> (tests, other hosts).</summary>
    public static ApiRequest Create(string method, string target, string? body = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        int question = target.IndexOf('?', StringComparison.Ordinal);
        string path = question < 0 ? target : target[..question];
        QueryString query = question < 0 ? QueryString.Empty : QueryString.Parse(target.AsSpan(question + 1));
        return new ApiRequest(method, path, query, headers, body is null ? default : System.Text.Encoding.UTF8.GetBytes(body))
        {
            RawQuery = question < 0 ? string.Empty : target[(question + 1)..],
        };
    }

    /// <summary>The value of a header, or null.</summary>
    public string? GetHeader(string name) => Headers.TryGetValue(name, out string? value) ? value : null;
}
