using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broker.Http;
using Broker.Http.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ApiQuery = Broker.Http.QueryString;

namespace Broker.Server.Hosting;

/// <summary>
/// Serves the same <see cref="ManagementApi"/> as <see cref="HttpListenerHost"/>, over HTTPS (TLS 1.2/1.3) on Kestrel,
/// with the same behaviour: 413 for a body over the limit (before it is read when its length is declared), 503 beyond
/// the concurrent-request limit, a connection dropped when a body or response stalls past the I/O timeout, proxy
/// bodies streamed both ways. Kestrel runs bare (an empty <see cref="WebApplication"/>: no configuration sources, no
/// routing, no console lifetime), so the process keeps its own signal handling. Reports itself as the
/// <c>https:management</c> listener.
/// </summary>
internal sealed class KestrelHost : IManagementHost, IListenerInfo
{
    public const string ManagementProtocol = "https:management";

    private readonly ManagementApi _api;
    private readonly KestrelHostOptions _options;
    private readonly HttpListenerHostOptions _limits;
    private readonly X509Certificate2 _certificate;
    private readonly ILoggerFactory _loggerFactory;
    private WebApplication? _app;
    private Uri _baseAddress;
    private int _current;

    /// <param name="api">The handlers.</param>
    /// <param name="options">Address, port and certificate files.</param>
    /// <param name="limits">Body size, I/O timeout and concurrent requests, shared with the plain host.</param>
    /// <param name="certificate">The loaded certificate (<see cref="CertificateLoader"/>); the host disposes it.</param>
    /// <param name="loggerFactory">Kestrel's own logs go here too.</param>
    public KestrelHost(ManagementApi api, KestrelHostOptions options, HttpListenerHostOptions limits, X509Certificate2 certificate, ILoggerFactory? loggerFactory = null)
    {
        _api = api ?? throw new ArgumentNullException(nameof(api));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _limits = limits ?? throw new ArgumentNullException(nameof(limits));
        _certificate = certificate ?? throw new ArgumentNullException(nameof(certificate));
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _baseAddress = BuildUri(options.Address, options.Port);
    }

    public Uri BaseAddress => Volatile.Read(ref _baseAddress);

    public int Port => BaseAddress.Port;

    string IListenerInfo.Name => ManagementProtocol + ":" + ((IListenerInfo)this).ListenOn;

    string IListenerInfo.Protocol => ManagementProtocol;

    string IListenerInfo.ListenOn => Port.ToString(CultureInfo.InvariantCulture);

    int IListenerInfo.Acceptors => 1;

    int IListenerInfo.MaxConnections => _limits.MaxConnections;

    public int CurrentConnections => Volatile.Read(ref _current);

    IReadOnlyDictionary<string, long> IListenerInfo.ShutdownCounts => new Dictionary<string, long>();

    void IListenerInfo.RecordShutdown(string reason)
    {
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("The host starts once.");
        }

        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = _limits.MaxBodySize;
            kestrel.Limits.RequestHeadersTimeout = _limits.IoTimeout;
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
            kestrel.Listen(_options.Address, _options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = _certificate;
                    https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                    https.HandshakeTimeout = _limits.IoTimeout;
                });
            });
        });

        WebApplication app = builder.Build();
        app.Run(ServeAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            SocketError error = ex.InnerException is SocketException socket ? socket.SocketErrorCode : SocketError.AddressAlreadyInUse;
            throw new SocketException((int)error, $"Cannot listen on https://{_options.Address}:{_options.Port}/: {ex.Message}");
        }

        _app = app;
        int port = _options.Port;
        ICollection<string>? addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        foreach (string address in addresses ?? [])
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out Uri? bound))
            {
                port = bound.Port;
                break;
            }
        }

        Volatile.Write(ref _baseAddress, BuildUri(_options.Address, port));
        ServerLog.HttpsListening(_loggerFactory.CreateLogger("Broker.Server"), BaseAddress.ToString());
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        WebApplication? app = Interlocked.Exchange(ref _app, null);
        if (app is null)
        {
            return;
        }

        try
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of time: disposal aborts what is left.
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        _certificate.Dispose();
    }

    private async Task ServeAsync(HttpContext context)
    {
        int current = Interlocked.Increment(ref _current);
        try
        {
            if (current > _limits.MaxConnections)
            {
                await WriteAsync(context, ApiResponse.Text(503, "Service Unavailable"), close: false).ConfigureAwait(false);
                return;
            }

            HttpRequest request = context.Request;
            string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path.Value + request.QueryString.Value);
            int question = target.IndexOf('?', StringComparison.Ordinal);
            string path = question < 0 ? target : target[..question];
            string rawQuery = question < 0 ? string.Empty : target[(question + 1)..];
            bool hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
            ApiResponse response;
            if (_api.IsStreamingPath(path))
            {
                // A proxy route: the body goes upstream as it arrives, whatever its size.
                if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                {
                    limit.MaxRequestBodySize = null;
                }

                response = await _api.HandleAsync(ToApiRequest(context, path, rawQuery, [], hasBody ? request.Body : null, request.ContentLength)).ConfigureAwait(false);
            }
            else
            {
                if (request.ContentLength > _limits.MaxBodySize)
                {
                    await WriteAsync(context, ApiResponse.Text(413, "Payload Too Large"), close: true).ConfigureAwait(false);
                    return;
                }

                byte[]? body = hasBody ? await ReadBodyAsync(request, context.RequestAborted).ConfigureAwait(false) : [];
                if (body is null)
                {
                    await WriteAsync(context, ApiResponse.Text(413, "Payload Too Large"), close: true).ConfigureAwait(false);
                    return;
                }

                response = await _api.HandleAsync(ToApiRequest(context, path, rawQuery, body, null, null)).ConfigureAwait(false);
            }

            await WriteAsync(context, response, close: false).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away or stalled: drop the connection, the host keeps serving.
            context.Abort();
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }

    /// <summary>The body, or null when it exceeds the limit (Kestrel enforces it too, for chunked bodies).</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken aborted)
    {
        long? length = request.ContentLength;
        var buffer = new MemoryStream(length is > 0 ? (int)length.Value : 4096);
        byte[] chunk = new byte[16 * 1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(_limits.IoTimeout);
        try
        {
            while (true)
            {
                int read = await request.Body.ReadAsync(chunk, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.ToArray();
                }

                if (buffer.Length + read > _limits.MaxBodySize)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private async Task WriteAsync(HttpContext context, ApiResponse api, bool close)
    {
        try
        {
            HttpResponse response = context.Response;
            response.StatusCode = api.Status;
            if (api.ContentType.Length > 0)
            {
                response.ContentType = api.ContentType;
            }

            foreach (KeyValuePair<string, string> header in api.Headers)
            {
                response.Headers.Append(header.Key, header.Value);
            }

            if (close)
            {
                response.Headers.Connection = "close";
            }

            if (api.BodyStream is { } stream)
            {
                response.ContentLength = api.BodyLength;
                await StreamCopy.CopyAsync(stream, response.Body, _limits.IoTimeout, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            response.ContentLength = api.Body.Length;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(_limits.IoTimeout);
            await response.Body.WriteAsync(api.Body, timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            api.Owner?.Dispose();
        }
    }

    private static ApiRequest ToApiRequest(HttpContext context, string path, string rawQuery, byte[] body, Stream? bodyStream, long? bodyLength)
    {
        ApiQuery query = rawQuery.Length == 0 ? ApiQuery.Empty : ApiQuery.Parse(rawQuery);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in context.Request.Headers)
        {
            headers[header.Key] = header.Value.ToString();
        }

        return new ApiRequest(context.Request.Method, path, query, headers, body) { RawQuery = rawQuery, BodyStream = bodyStream, BodyLength = bodyLength };
    }

    private static Uri BuildUri(IPAddress address, int port)
    {
        IPAddress shown = address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address;
        string host = shown.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{shown}]" : shown.ToString();
        return new Uri($"https://{host}:{port.ToString(CultureInfo.InvariantCulture)}/");
    }

    /// <summary>The broker handles SIGINT/SIGTERM itself (ShutdownSignal); the embedded web host must not.</summary>
    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
