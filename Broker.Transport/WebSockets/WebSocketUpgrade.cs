using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Transport.WebSockets;

/// <summary>
/// The server side of the RFC 6455 opening handshake, over any stream (plain or TLS), without ASP.NET: reads one
/// bounded HTTP/1.1 upgrade request, answers 101 with the chosen subprotocol or an error status, and on success
/// returns <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/> over the same stream.
/// </summary>
/// <remarks>
/// Refusals, as cowboy answers them for EMQX where it has an answer: 400 for a malformed request, a bad key or no
/// acceptable subprotocol; 404 for another path; 405 for a method other than GET; 426 for a request that is not a
/// WebSocket upgrade or asks for a version other than 13 (RFC 6455 §4.4); 431 for a request larger than
/// <see cref="WebSocketListenerOptions.MaxHandshakeSize"/>. Every refusal closes the connection.
/// </remarks>
internal static class WebSocketUpgrade
{
    // RFC 6455 §1.3: the key's accept value is SHA-1(key + this GUID), base64.
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    /// <summary>The outcome of <see cref="AcceptAsync"/>: a WebSocket, or the reason there is none (the answer is already sent).</summary>
    public readonly record struct Result(WebSocket? WebSocket, int Status, bool PeerClosed);

    public static async Task<Result> AcceptAsync(Stream stream, WebSocketListenerOptions options, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(options.MaxHandshakeSize);
        try
        {
            int length = 0;
            int headerLength = -1;
            while (headerLength < 0)
            {
                if (length == options.MaxHandshakeSize)
                {
                    return await RefuseAsync(stream, 431, "Request Header Fields Too Large", null, cancellationToken).ConfigureAwait(false);
                }

                int read = await stream.ReadAsync(buffer.AsMemory(length, options.MaxHandshakeSize - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return new Result(null, 0, PeerClosed: true);
                }

                // The end marker may straddle two reads: look again from up to 3 bytes before the new ones.
                int searchFrom = Math.Max(0, length - 3);
                length += read;
                int end = buffer.AsSpan(searchFrom, length - searchFrom).IndexOf(HeaderEnd);
                if (end >= 0)
                {
                    headerLength = searchFrom + end + HeaderEnd.Length;
                }
            }

            if (headerLength != length)
            {
                // The client sent data before our answer, which RFC 6455 §4.1 forbids: the frames would be lost.
                return await RefuseAsync(stream, 400, "Bad Request", null, cancellationToken).ConfigureAwait(false);
            }

            // Latin-1 keeps every byte as one char, so a non-ASCII header is compared and refused rather than mis-decoded.
            string request = Encoding.Latin1.GetString(buffer, 0, headerLength - HeaderEnd.Length);
            (int status, string? subprotocol, string? accept) = Validate(request, options);
            return status switch
            {
                101 => await CompleteAsync(stream, subprotocol, accept!, cancellationToken).ConfigureAwait(false),
                404 => await RefuseAsync(stream, 404, "Not Found", null, cancellationToken).ConfigureAwait(false),
                405 => await RefuseAsync(stream, 405, "Method Not Allowed", "Allow: GET\r\n", cancellationToken).ConfigureAwait(false),
                426 => await RefuseAsync(stream, 426, "Upgrade Required", "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", cancellationToken).ConfigureAwait(false),
                _ => await RefuseAsync(stream, 400, "Bad Request", null, cancellationToken).ConfigureAwait(false),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Checks the request; returns 101 with the subprotocol (null: none) and accept value, or the refusal status.</summary>
    internal static (int Status, string? Subprotocol, string? Accept) Validate(string request, WebSocketListenerOptions options)
    {
        string[] lines = request.Split("\r\n");
        string[] requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0].Length == 0 || requestLine[1].Length == 0 || requestLine[2] is not ("HTTP/1.1" or "HTTP/2" or "HTTP/2.0"))
        {
            return (400, null, null);
        }

        string? upgrade = null;
        string? connection = null;
        string? key = null;
        string? version = null;
        string? protocols = null;
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAny(" \t"))
            {
                // RFC 9112 §5.1: no whitespace between a field name and the colon; obsolete line folding is refused too.
                return (400, null, null);
            }

            string name = line[..colon];
            string value = line[(colon + 1)..].Trim(' ', '\t');
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = Join(upgrade, value);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                connection = Join(connection, value);
            }
            else if (name.Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase))
            {
                if (key is not null)
                {
                    return (400, null, null);
                }

                key = value;
            }
            else if (name.Equals("Sec-WebSocket-Version", StringComparison.OrdinalIgnoreCase))
            {
                version = Join(version, value);
            }
            else if (name.Equals("Sec-WebSocket-Protocol", StringComparison.OrdinalIgnoreCase))
            {
                protocols = Join(protocols, value);
            }
        }

        if (!requestLine[0].Equals("GET", StringComparison.Ordinal))
        {
            return (405, null, null);
        }

        string target = requestLine[1];
        int query = target.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? target : target[..query];
        if (!path.Equals(options.Path, StringComparison.Ordinal))
        {
            return (404, null, null);
        }

        if (!HasToken(upgrade, "websocket") || !HasToken(connection, "upgrade") || version != "13")
        {
            return (426, null, null);
        }

        // RFC 6455 §4.2.1: the key is 16 random bytes, base64-encoded (24 characters).
        Span<byte> decodedKey = stackalloc byte[18];
        if (key is not { Length: 24 } || !Convert.TryFromBase64String(key, decodedKey, out int keyBytes) || keyBytes != 16)
        {
            return (400, null, null);
        }

        string? subprotocol = null;
        if (protocols is null)
        {
            if (options.FailIfNoSubprotocol)
            {
                return (400, null, null);
            }
        }
        else
        {
            foreach (string offered in protocols.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                foreach (string supported in options.SupportedSubprotocols)
                {
                    if (offered.Equals(supported, StringComparison.OrdinalIgnoreCase))
                    {
                        subprotocol = supported;
                        break;
                    }
                }

                if (subprotocol is not null)
                {
                    break;
                }
            }

            if (subprotocol is null)
            {
                return (400, null, null);
            }
        }

        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
#pragma warning disable CA5350 // RFC 6455 §4.2.2 fixes SHA-1 for the accept value; it proves nothing secret.
        SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid), hash);
#pragma warning restore CA5350
        return (101, subprotocol, Convert.ToBase64String(hash));
    }

    private static async Task<Result> CompleteAsync(Stream stream, string? subprotocol, string accept, CancellationToken cancellationToken)
    {
        string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n"
            + (subprotocol is null ? string.Empty : "Sec-WebSocket-Protocol: " + subprotocol + "\r\n")
            + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        // MQTT has its own keep alive; EMQX sends no WebSocket pings either. Pings from the client are answered.
        WebSocket webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subprotocol,
            KeepAliveInterval = TimeSpan.Zero,
        });
        return new Result(webSocket, 101, PeerClosed: false);
    }

    private static async Task<Result> RefuseAsync(Stream stream, int status, string reasonPhrase, string? headers, CancellationToken cancellationToken)
    {
        string response = "HTTP/1.1 " + status.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + reasonPhrase + "\r\n"
            + headers + "Connection: close\r\nContent-Length: 0\r\n\r\n";
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(response), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client is gone; it was refused anyway.
        }

        return new Result(null, status, PeerClosed: false);
    }

    private static string Join(string? existing, string value) => existing is null ? value : existing + "," + value;

    private static bool HasToken(string? list, string token)
    {
        if (list is null)
        {
            return false;
        }

        foreach (string item in list.Split(',', StringSplitOptions.TrimEntries))
        {
            if (item.Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
