using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Broker.Http;

/// <summary>
/// What a handler answers: status, content type, extra headers and the body bytes. Hosts copy it to the wire as is.
/// Build JSON bodies with <see cref="V4"/>, <see cref="V3"/> or <see cref="Json"/>.
/// </summary>
public sealed class ApiResponse
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string TextContentType = "text/plain; charset=utf-8";

    // Topics and client ids are written as they are ('+', '&', non-ASCII), as EMQX writes them; the body is JSON, never
    // embedded in HTML, so the default HTML-safe escaping buys nothing and makes curl output hard to read.
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public ApiResponse(int status, string contentType, byte[] body, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        Status = status;
        ContentType = contentType;
        Body = body;
        Headers = headers ?? [];
    }

    public int Status { get; }

    public string ContentType { get; }

    public byte[] Body { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>
    /// A body the host copies from this stream instead of <see cref="Body"/> (proxied responses, so that a large body
    /// is never held whole); null for ordinary responses. The host disposes <see cref="Owner"/> once copied or failed.
    /// </summary>
    public Stream? BodyStream { get; private init; }

    /// <summary>The streamed body's length when known; null sends it chunked.</summary>
    public long? BodyLength { get; private init; }

    /// <summary>What to dispose after the streamed body is copied (the upstream response); null for ordinary responses.</summary>
    public IDisposable? Owner { get; private init; }

    /// <summary>The body as text (tests, logs).</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>
    /// A response whose body the host copies from <paramref name="body"/>; <paramref name="contentType"/> may be empty
    /// (none sent). <paramref name="owner"/> is disposed by the host after the copy, whatever its outcome.
    /// </summary>
    public static ApiResponse Streamed(int status, string contentType, Stream body, long? length, IReadOnlyList<KeyValuePair<string, string>> headers, IDisposable owner)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(owner);
        return new ApiResponse(status, contentType ?? string.Empty, [], headers) { BodyStream = body, BodyLength = length, Owner = owner };
    }

    /// <summary>A JSON body written by <paramref name="write"/>.</summary>
    public static ApiResponse Json(int status, Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            write(writer);
        }

        return new ApiResponse(status, JsonContentType, buffer.WrittenSpan.ToArray());
    }

    /// <summary>A JSON body from the state and writer given (no closure per call).</summary>
    public static ApiResponse Json<TState>(int status, TState state, Action<Utf8JsonWriter, TState> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            write(writer, state);
        }

        return new ApiResponse(status, JsonContentType, buffer.WrittenSpan.ToArray());
    }

    public static ApiResponse Text(int status, string text, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
        => new(status, TextContentType, Encoding.UTF8.GetBytes(text), headers);

    /// <summary>EMQX's answer for a path or method it has no route for: 404 <c>Not found.</c></summary>
    public static ApiResponse NotFound() => Text(404, "Not found.");

    /// <summary>401 with the challenge, as EMQX (minirest) sends it.</summary>
    public static ApiResponse Unauthorized()
        => Text(401, "UNAUTHORIZED", [new("WWW-Authenticate", "Basic Realm=\"minirest-server\"")]);
}
