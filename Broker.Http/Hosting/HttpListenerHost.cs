using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Http.Hosting;

/// <summary>
/// Serves a <see cref="ManagementApi"/> over <see cref="HttpListener"/> (plain HTTP: HttpListener has no TLS on Linux).
/// Each request runs on its own task, so a slow client holds up nobody else; a body larger than the limit is refused
/// with 413 before it is read, and a body or response that does not move within the I/O timeout drops the connection.
/// The host also reports itself as the <c>http:management</c> listener.
/// </summary>
public sealed class HttpListenerHost : IManagementHost, IListenerInfo
{
    public const string ManagementProtocol = "http:management";

    private const int BindAttempts = 5;

    private readonly ManagementApi _api;
    private readonly HttpListenerHostOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private HttpListener? _listener;
    private bool _orphanedSocket;
    private Task _acceptLoop = Task.CompletedTask;
    private Uri _baseAddress;
    private int _current;

    public HttpListenerHost(ManagementApi api, HttpListenerHostOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _api = api ?? throw new ArgumentNullException(nameof(api));
        _options = options ?? new HttpListenerHostOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Http");
        _baseAddress = BuildUri(_options.Address, _options.Port);
    }

    public Uri BaseAddress => Volatile.Read(ref _baseAddress);

    /// <summary>The bound port once started.</summary>
    public int Port => BaseAddress.Port;

    string IListenerInfo.Name => ManagementProtocol + ":" + ((IListenerInfo)this).ListenOn;

    string IListenerInfo.Protocol => ManagementProtocol;

    string IListenerInfo.ListenOn => Port.ToString(CultureInfo.InvariantCulture);

    int IListenerInfo.Acceptors => 1;

    int IListenerInfo.MaxConnections => _options.MaxConnections;

    /// <summary>Requests being served.</summary>
    public int CurrentConnections => Volatile.Read(ref _current);

    IReadOnlyDictionary<string, long> IListenerInfo.ShutdownCounts => new Dictionary<string, long>();

    void IListenerInfo.RecordShutdown(string reason)
    {
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("The host starts once.");
        }

        HttpListenerException? last = null;
        for (int attempt = 0; attempt < BindAttempts; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // HttpListener cannot bind port 0: find a free port first, and try again if someone takes it meanwhile.
            int port = _options.Port != 0 ? _options.Port : FindFreePort(_options.Address);
            var listener = new HttpListener { IgnoreWriteExceptions = true };
            string prefix = Prefix(_options.Address, port);
            listener.Prefixes.Add(prefix);
            try
            {
                listener.Start();
            }
            catch (HttpListenerException ex)
            {
                listener.Close();
                last = ex;
                if (_options.Port != 0 && !ReleaseOrphanedSocket())
                {
                    throw new SocketException(ex.ErrorCode, $"Cannot listen on {prefix}: {ex.Message}");
                }

                continue;
            }
            catch (ArgumentNullException ex)
            {
                // The managed HttpListener starts accepting in its endpoint listener's constructor before it creates the
                // lock that accept takes (dotnet/corefx#35191): a client already waiting makes Start throw. The
                // half-built listener's socket still holds the port until it is finalized; let it go, then start
                // again. A client arriving in the same microseconds but completing asynchronously hits the same
                // null lock on a pool thread, which nothing here can catch: that window remains.
                listener.Close();
                HttpLog.StartRaced(_logger, prefix, ex.Message);
                _orphanedSocket = true;
                ReleaseOrphanedSocket();
                continue;
            }

            _listener = listener;
            Volatile.Write(ref _baseAddress, BuildUri(_options.Address, port));
            _acceptLoop = AcceptLoopAsync(listener);
            HttpLog.Listening(_logger, prefix);
            return Task.CompletedTask;
        }

        throw new SocketException((int)SocketError.AddressAlreadyInUse, last?.Message ?? "No free port found.");
    }

    /// <summary>After a start that raced a client (see <see cref="StartAsync"/>): finalizes the orphaned listening socket; true when there was one.</summary>
    private bool ReleaseOrphanedSocket()
    {
        if (!_orphanedSocket)
        {
            return false;
        }

        // The only way to close a socket that .NET's HttpListener leaked inside its failed constructor.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return true;
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        HttpListener? listener = Interlocked.Exchange(ref _listener, null);
        if (listener is null)
        {
            return;
        }

        listener.Stop();
        try
        {
            await _acceptLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(_inFlight.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of time: closing the listener below aborts what is left.
        }
        finally
        {
            listener.Close();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);

    private async Task AcceptLoopAsync(HttpListener listener)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (!listener.IsListening)
                {
                    return;
                }

                HttpLog.AcceptFailed(_logger, ex);
                continue;
            }

            Task serve = ServeAsync(context);
            if (!serve.IsCompleted)
            {
                _inFlight.TryAdd(serve, 0);
                _ = serve.ContinueWith(static (task, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(task, out _), _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        int current = Interlocked.Increment(ref _current);
        try
        {
            await Task.Yield();
            ApiResponse response;
            if (current > _options.MaxConnections)
            {
                response = ApiResponse.Text(503, "Service Unavailable");
            }
            else
            {
                HttpListenerRequest request = context.Request;
                (string path, string rawQuery) = SplitTarget(request);
                if (_api.IsStreamingPath(path))
                {
                    // A proxy route: the body goes upstream as it arrives, whatever its size.
                    Stream? bodyStream = request.HasEntityBody ? request.InputStream : null;
                    long? bodyLength = request.HasEntityBody && request.ContentLength64 >= 0 ? request.ContentLength64 : null;
                    response = await _api.HandleAsync(ToApiRequest(request, path, rawQuery, [], bodyStream, bodyLength)).ConfigureAwait(false);
                    await WriteAsync(context.Response, response, close: false).ConfigureAwait(false);
                    return;
                }

                long length = request.ContentLength64;
                if (length > _options.MaxBodySize)
                {
                    await WriteAsync(context.Response, ApiResponse.Text(413, "Payload Too Large"), close: true).ConfigureAwait(false);
                    return;
                }

                byte[]? body = await ReadBodyAsync(request).ConfigureAwait(false);
                if (body is null)
                {
                    await WriteAsync(context.Response, ApiResponse.Text(413, "Payload Too Large"), close: true).ConfigureAwait(false);
                    return;
                }

                if (!Thread.CurrentThread.IsThreadPoolThread)
                {
                    // With socket completions inline (the broker's default, --inline-io) the body read resumes on a
                    // socket event-loop thread; a handler that waits there (a storage commit) would stall every MQTT
                    // connection of that loop.
                    await Task.Yield();
                }

                response = await _api.HandleAsync(ToApiRequest(request, path, rawQuery, body, null, null)).ConfigureAwait(false);
            }

            await WriteAsync(context.Response, response, close: false).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or TimeoutException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away or stalled: drop the connection, the host keeps serving.
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                HttpLog.RequestFailed(_logger, context.Request.RemoteEndPoint?.ToString() ?? "?", ex.Message);
            }

            context.Response.Abort();
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }

    /// <summary>The body, or null when it exceeds the limit (a chunked body is read only up to the limit).</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpListenerRequest request)
    {
        if (!request.HasEntityBody)
        {
            return [];
        }

        long length = request.ContentLength64;
        int capacity = length > 0 ? (int)length : 4096;
        var buffer = new MemoryStream(capacity);
        byte[] chunk = new byte[Math.Min(capacity, 16 * 1024)];
        Stream input = request.InputStream;
        using var timeout = new CancellationTokenSource(_options.IoTimeout);
        while (true)
        {
            int read = await input.ReadAsync(chunk, timeout.Token).AsTask().WaitAsync(_options.IoTimeout).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > _options.MaxBodySize)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }
    }

    private async Task WriteAsync(HttpListenerResponse response, ApiResponse api, bool close)
    {
        try
        {
            response.StatusCode = api.Status;
            if (api.ContentType.Length > 0)
            {
                response.ContentType = api.ContentType;
            }

            foreach (KeyValuePair<string, string> header in api.Headers)
            {
                AddHeader(response, header.Key, header.Value);
            }

            if (close)
            {
                response.KeepAlive = false;
            }

            if (api.BodyStream is { } stream)
            {
                if (api.BodyLength is { } streamLength)
                {
                    response.ContentLength64 = streamLength;
                }
                else
                {
                    response.SendChunked = true;
                }

                await StreamCopy.CopyAsync(stream, response.OutputStream, _options.IoTimeout).ConfigureAwait(false);
                response.Close();
                return;
            }

            response.ContentLength64 = api.Body.Length;
            using var timeout = new CancellationTokenSource(_options.IoTimeout);
            await response.OutputStream.WriteAsync(api.Body, timeout.Token).AsTask().WaitAsync(_options.IoTimeout).ConfigureAwait(false);
            response.Close();
        }
        finally
        {
            api.Owner?.Dispose();
        }
    }

    // Proxied responses carry the upstream's headers; HttpListener refuses to set a few itself (restricted ones), and
    // an upstream's odd header must not cost the caller the response.
    private static void AddHeader(HttpListenerResponse response, string name, string value)
    {
        try
        {
            response.AddHeader(name, value);
        }
        catch (ArgumentException)
        {
        }
    }

    private static (string Path, string RawQuery) SplitTarget(HttpListenerRequest request)
    {
        string target = request.RawUrl ?? "/";
        if (!target.StartsWith('/') && Uri.TryCreate(target, UriKind.Absolute, out Uri? absolute))
        {
            target = absolute.PathAndQuery;
        }

        int question = target.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (target, string.Empty) : (target[..question], target[(question + 1)..]);
    }

    private static ApiRequest ToApiRequest(HttpListenerRequest request, string path, string rawQuery, byte[] body, Stream? bodyStream, long? bodyLength)
    {
        QueryString query = rawQuery.Length == 0 ? QueryString.Empty : QueryString.Parse(rawQuery);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string? name in request.Headers.AllKeys)
        {
            if (name is not null && request.Headers[name] is { } value)
            {
                headers[name] = value;
            }
        }

        return new ApiRequest(request.HttpMethod, path, query, headers, body) { RawQuery = rawQuery, BodyStream = bodyStream, BodyLength = bodyLength };
    }

    private static int FindFreePort(IPAddress address)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static string Prefix(IPAddress address, int port)
        => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            ? $"http://+:{port.ToString(CultureInfo.InvariantCulture)}/"
            : BuildUri(address, port).ToString();

    private static Uri BuildUri(IPAddress address, int port)
    {
        IPAddress shown = address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address;
        string host = shown.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{shown}]" : shown.ToString();
        return new Uri($"http://{host}:{port.ToString(CultureInfo.InvariantCulture)}/");
    }
}
