using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Http.Channel;

/// <summary>
/// The cloud-edge channel (spec/cloud-edge-channel.md): <c>POST /api/login</c> trades a channel user's password for a
/// Bearer token, and with it <c>ANY /api/emqxee/dashboard/{clusterId}/{path}</c> and
/// <c>ANY /api/edgeservice/proxy/{edgeServiceId}/{path}</c> forward the request to a registered upstream and return its
/// status and body unchanged. Remote upstreams are called over HTTP with bodies streamed both ways; the cluster
/// <c>local</c> is this broker, served in-process through <see cref="ManagementApi"/> (no loopback socket, no app
/// credentials to configure, works whether the API listens on HTTP, HTTPS or both).
/// </summary>
public sealed class CloudEdgeChannel : IDisposable
{
    private const string LoginPath = "/api/login";
    private const string RefreshPath = "/api/login/refresh";
    private const string LogoutPath = "/api/logout";
    private const string ClusterPrefix = "/api/emqxee/dashboard/";
    private const string EdgeServicePrefix = "/api/edgeservice/proxy/";

    // RFC 9110 7.6.1 hop-by-hop fields, plus what the proxy sets itself (Host, Content-Length) and the caller's own
    // credentials (Authorization carries the channel token, never forwarded).
    private static readonly HashSet<string> s_requestSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Authorization", "Expect",
    };

    // Hop-by-hop fields, what the host writes itself, and the upstream's authentication challenge and cookies: those
    // concern the channel's credentials for the upstream, which the caller must neither see nor be asked for.
    private static readonly HashSet<string> s_responseSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Content-Length", "Content-Type", "Date", "Server", "WWW-Authenticate",
        "Set-Cookie", "Authentication-Info",
    };

    private readonly ManagementApi _api;
    private readonly ChannelOptions _options;
    private readonly HttpClient _client;
    private readonly ILogger _logger;

    public CloudEdgeChannel(ManagementApi api, ChannelRegistry registry, ChannelOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        _api = api ?? throw new ArgumentNullException(nameof(api));
        Registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _options = options ?? new ChannelOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Http");
        Tokens = new ChannelTokens(_options.AccessTokenLifetime, TimeSpan.FromTicks(Math.Max(_options.RefreshTokenLifetime.Ticks, _options.AccessTokenLifetime.Ticks)), timeProvider);
        _client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = _options.UpstreamTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public ChannelRegistry Registry { get; }

    public ChannelTokens Tokens { get; }

    /// <summary>Whether a path is the channel's (login, refresh, logout or a proxy route).</summary>
    public static bool IsChannelPath(string rawPath)
        => rawPath is LoginPath or RefreshPath or LogoutPath || IsProxyPath(rawPath);

    /// <summary>Whether a path is a proxy route, whose request body the host hands over unread.</summary>
    public static bool IsProxyPath(string rawPath)
        => rawPath.StartsWith(ClusterPrefix, StringComparison.Ordinal) || rawPath.StartsWith(EdgeServicePrefix, StringComparison.Ordinal);

    public void Dispose() => _client.Dispose();

    /// <summary>Serves a channel path. Never throws.</summary>
    public async ValueTask<ApiResponse> HandleAsync(ApiRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string path = request.RawPath;
        try
        {
            switch (path)
            {
                case LoginPath:
                    return request.Method == "POST" ? await LoginAsync(request).ConfigureAwait(false) : ApiResponse.NotFound();
                case RefreshPath:
                    return request.Method == "POST" ? await RefreshAsync(request).ConfigureAwait(false) : ApiResponse.NotFound();
                case LogoutPath:
                    return request.Method != "POST" ? ApiResponse.NotFound()
                        : Tokens.Revoke(request.GetHeader("Authorization")) ? V4.Ok() : Unauthorized();
            }

            string? user = Tokens.Authenticate(request.GetHeader("Authorization"));
            if (user is null || !Registry.UserExists(user))
            {
                return Unauthorized();
            }

            bool cluster = path.StartsWith(ClusterPrefix, StringComparison.Ordinal);
            string rest = path[(cluster ? ClusterPrefix : EdgeServicePrefix).Length..];
            int slash = rest.IndexOf('/', StringComparison.Ordinal);
            string id = Uri.UnescapeDataString(slash < 0 ? rest : rest[..slash]);
            string upstreamPath = slash < 0 ? "/" : rest[slash..];
            if (HasDotSegment(upstreamPath))
            {
                // The URL would be normalised above the upstream's base path (another API on that host).
                return V4.Error(ResultCode.BadParameter, "path must not contain . or .. segments", status: 400);
            }

            if (cluster && id == ChannelRegistry.LocalClusterId)
            {
                return await ForwardLocalAsync(request, upstreamPath).ConfigureAwait(false);
            }

            ChannelTargetKind kind = cluster ? ChannelTargetKind.Cluster : ChannelTargetKind.EdgeService;
            ChannelTarget? target = Registry.FindTarget(kind, id);
            if (target is null)
            {
                return V4.Error(ResultCode.BadParameter, cluster ? $"unknown cluster '{id}'" : $"unknown edge service '{id}'", status: 404);
            }

            return await ForwardAsync(request, target, kind, upstreamPath).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            return ex.Response;
        }
#pragma warning disable CA1031 // A proxy failure is the caller's 500, never the host's crash.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HttpLog.HandlerFailed(_logger, request.Method, path, ex);
            return V4.Error(ResultCode.Unknown, "Internal Error", status: 500);
        }
    }

    private static ApiResponse Unauthorized()
        => new(401, ApiResponse.JsonContentType, """{"code":103,"message":"missing, invalid or expired access token"}"""u8.ToArray(), [new("WWW-Authenticate", "Bearer")]);

    private async Task<ApiResponse> LoginAsync(ApiRequest request)
    {
        using JsonDocument? body = await ReadJsonAsync(request).ConfigureAwait(false);
        string? username = ReadString(body, "username");
        string? password = ReadString(body, "password");
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            return V4.Error(ResultCode.EmptyUsernameOrPassword, "username and password are required", status: 400);
        }

        if (!Registry.VerifyUser(username, password))
        {
            return V4.Error(ResultCode.UsernameOrPasswordError, "wrong username or password", status: 401);
        }

        return TokenResponse(username, Tokens.Issue(username));
    }

    private async Task<ApiResponse> RefreshAsync(ApiRequest request)
    {
        using JsonDocument? body = await ReadJsonAsync(request).ConfigureAwait(false);
        string? refresh = ReadString(body, "refreshToken") ?? ReadString(body, "refresh_token");
        if (string.IsNullOrEmpty(refresh))
        {
            return V4.Error(ResultCode.MissingParameter, "refreshToken is required", status: 400);
        }

        ChannelTokenPair? pair = Tokens.Refresh(refresh);
        string? user = pair is null ? null : Tokens.Authenticate("Bearer " + pair.Value.AccessToken);
        if (pair is null || user is null || !Registry.UserExists(user))
        {
            return V4.Error(ResultCode.UsernameOrPasswordError, "invalid or expired refresh token", status: 401);
        }

        return TokenResponse(user, pair.Value);
    }

    private static ApiResponse TokenResponse(string username, ChannelTokenPair pair)
        => ApiResponse.Json(200, (username, pair), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", 0);
            writer.WriteString("username", state.username);
            writer.WriteString("accessToken", state.pair.AccessToken);
            writer.WriteString("tokenType", "Bearer");
            writer.WriteNumber("expiresIn", state.pair.ExpiresIn);
            writer.WriteString("refreshToken", state.pair.RefreshToken);
            writer.WriteNumber("refreshExpiresIn", state.pair.RefreshExpiresIn);
            writer.WriteEndObject();
        });

    private static async Task<JsonDocument?> ReadJsonAsync(ApiRequest request)
    {
        byte[]? body = await ReadWholeAsync(request, 64 * 1024).ConfigureAwait(false);
        if (body is null)
        {
            ApiThrow.BadRequest(ResultCode.BadParameter, "body too large");
        }

        if (body!.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            ApiThrow.BadRequest(ResultCode.BodyNotJson, "Request body is not valid JSON");
            return null;
        }
    }

    private static string? ReadString(JsonDocument? document, string name)
        => document is not null && document.RootElement.ValueKind == JsonValueKind.Object
           && document.RootElement.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>The body, from the bytes or the unread stream; null when longer than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadWholeAsync(ApiRequest request, int limit)
    {
        if (request.BodyStream is null)
        {
            return request.Body.Length > limit ? null : request.Body.ToArray();
        }

        if (request.BodyLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        while (true)
        {
            int read = await request.BodyStream.ReadAsync(chunk).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }
    }

    private async Task<ApiResponse> ForwardLocalAsync(ApiRequest request, string upstreamPath)
    {
        byte[]? body = await ReadWholeAsync(request, _options.MaxLocalBodySize).ConfigureAwait(false);
        if (body is null)
        {
            return ApiResponse.Text(413, "Payload Too Large");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, string> header in request.Headers)
        {
            if (!s_requestSkipped.Contains(header.Key))
            {
                headers[header.Key] = header.Value;
            }
        }

        var local = new ApiRequest(request.Method, upstreamPath, request.Query, headers, body) { RawQuery = request.RawQuery };
        return await _api.HandleTrustedAsync(local).ConfigureAwait(false);
    }

    private async Task<ApiResponse> ForwardAsync(ApiRequest request, ChannelTarget target, ChannelTargetKind kind, string upstreamPath)
    {
        string baseUrl = target.Url.EndsWith('/') ? target.Url[..^1] : target.Url;
        var uri = new Uri(request.RawQuery.Length == 0 ? baseUrl + upstreamPath : baseUrl + upstreamPath + "?" + request.RawQuery);
        var message = new HttpRequestMessage(new HttpMethod(request.Method), uri) { Version = HttpVersion.Version11 };
        HttpResponseMessage? response = null;
        try
        {
            if (request.BodyStream is not null)
            {
                message.Content = new StreamContent(request.BodyStream, 64 * 1024);
                if (request.BodyLength is { } length)
                {
                    message.Content.Headers.ContentLength = length;
                }
            }
            else if (!request.Body.IsEmpty)
            {
                message.Content = new ReadOnlyMemoryContent(request.Body);
            }

            foreach (KeyValuePair<string, string> header in request.Headers)
            {
                if (s_requestSkipped.Contains(header.Key))
                {
                    continue;
                }

                if (header.Key.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                {
                    message.Content?.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                else
                {
                    message.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            if (target.Username is not null)
            {
                string credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(target.Username + ":" + (target.Password ?? string.Empty)));
                message.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials);
            }

            using (var timeout = new CancellationTokenSource(_options.UpstreamTimeout))
            {
                try
                {
                    response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    HttpLog.UpstreamFailed(_logger, Describe(kind), target.Id, "timed out");
                    return V4.Error(ResultCode.RpcError, $"{Describe(kind)} '{target.Id}' did not answer within {(int)_options.UpstreamTimeout.TotalSeconds} s", status: 504);
                }
                catch (HttpRequestException ex)
                {
                    // The message names the upstream's address, never its credentials (they are not in the URL).
                    HttpLog.UpstreamFailed(_logger, Describe(kind), target.Id, ex.Message);
                    return V4.Error(ResultCode.RpcError, $"{Describe(kind)} '{target.Id}' is unreachable: {ex.HttpRequestError}", status: 502);
                }
            }

            var headers = new List<KeyValuePair<string, string>>();
            CopyHeaders(response.Headers, headers);
            CopyHeaders(response.Content.Headers, headers);
            Stream body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            var owner = new UpstreamExchange(message, response);
            message = null;
            response = null;
            return ApiResponse.Streamed((int)owner.Response.StatusCode, owner.Response.Content.Headers.ContentType?.ToString() ?? string.Empty, body, owner.Response.Content.Headers.ContentLength, headers, owner);
        }
        finally
        {
            response?.Dispose();
            message?.Dispose();
        }
    }

    private static bool HasDotSegment(string rawPath)
    {
        foreach (string segment in Uri.UnescapeDataString(rawPath).Replace('\\', '/').Split('/'))
        {
            if (segment is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(ChannelTargetKind kind) => kind == ChannelTargetKind.Cluster ? "cluster" : "edge service";

    private static void CopyHeaders(HttpHeaders source, List<KeyValuePair<string, string>> target)
    {
        foreach (KeyValuePair<string, IEnumerable<string>> header in source)
        {
            if (!s_responseSkipped.Contains(header.Key))
            {
                target.Add(new(header.Key, string.Join(", ", header.Value)));
            }
        }
    }

    /// <summary>The upstream request and response, disposed by the host once the body is copied.</summary>
    private sealed class UpstreamExchange(HttpRequestMessage request, HttpResponseMessage response) : IDisposable
    {
        public HttpResponseMessage Response { get; } = response;

        public void Dispose()
        {
            Response.Dispose();
            request.Dispose();
        }
    }
}
