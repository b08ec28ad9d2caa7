using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Broker.Core;
using Broker.Transport.Buffers;
using Broker.Transport.Diagnostics;
using Broker.Transport.Tcp;
using Broker.Transport.Tls;
using Broker.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Connections;

/// <summary>
/// An MQTT listener whose connections pass through a stream before reaching the broker: TLS (<c>mqtt:ssl</c>, 8883),
/// WebSocket (<c>mqtt:ws</c>, 8083) or both (<c>mqtt:wss</c>, 8084). Each accepted socket becomes a
/// <see cref="NetworkStream"/>, then an <see cref="SslStream"/> and/or a WebSocket after its handshake (bounded by a
/// timeout), then an <see cref="IDuplexPipe"/> handed to the handler. Limits and figures are the TCP listener's:
/// <c>acceptors</c>, <c>max_conns</c>, <c>current_conns</c>, <c>shutdown_count</c>.
/// </summary>
/// <remarks>
/// A connection counts against <c>max_conns</c> from accept, handshake included, as esockd counts it. A failed
/// handshake is counted in <c>shutdown_count</c> (<c>ssl_error</c>, <c>bad_request</c>, <c>handshake_timeout</c>) and
/// never reaches the broker.
/// </remarks>
public sealed class StreamListener : IConnectionListener
{
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> _handler;
    private readonly ILogger _logger;
    private readonly IPEndPoint _configuredEndPoint;
    private readonly int _backlog;
    private readonly TimeSpan _closeTimeout;
    private readonly TimeSpan _handshakeTimeout;
    private readonly TlsListenerOptions? _tls;
    private readonly WebSocketListenerOptions? _webSocket;
    private readonly string _baseProtocol;
    private const long StreamReadBufferSize = 1024 * 1024;

    private readonly PipeOptions _inputOptions;
    private readonly PipeOptions _outputOptions;
    private readonly ConcurrentDictionary<long, StreamConnection> _connections = new();
    private readonly CancellationTokenSource _closingConnections = new();
    private readonly Lock _stateLock = new();

    private TlsServerContext? _tlsContext;
    private Socket? _listenSocket;
    private Task[] _acceptLoops = [];
    private Task? _stopTask;
    private bool _started;
    private EndPoint _endPoint;
    private string _listenOn;
    private string _name;
    private string _protocol;
    private int _currentConnections;
    private long _nextConnectionId;
    private int _disposed;

    /// <param name="options">Address, acceptors, max_conns, backlog, buffer sizes and close timeout, as for TCP.</param>
    /// <param name="tls">TLS settings; null for a plain WebSocket listener.</param>
    /// <param name="webSocket">WebSocket settings; null for MQTT directly over TLS.</param>
    /// <param name="handler">Serves one connection until it ends, usually <see cref="MqttBroker.RunConnectionAsync"/>.</param>
    /// <param name="loggerFactory">Logs under <c>Broker.Transport.StreamListener</c>.</param>
    public StreamListener(
        SocketListenerOptions options,
        TlsListenerOptions? tls,
        WebSocketListenerOptions? webSocket,
        Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> handler,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        if (tls is null && webSocket is null)
        {
            throw new ArgumentException("A stream listener needs TLS, WebSocket or both; plain TCP is SocketListener's.");
        }

        _handler = handler;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Transport.StreamListener");
        _tls = tls;
        _webSocket = webSocket;
        _configuredEndPoint = options.EndPoint;
        _endPoint = options.EndPoint;
        _backlog = options.Backlog;
        _closeTimeout = options.CloseTimeout;
        _handshakeTimeout = TimeSpan.FromTicks(Math.Max(tls?.HandshakeTimeout.Ticks ?? 0, webSocket?.HandshakeTimeout.Ticks ?? 0));
        Acceptors = options.Acceptors;
        MaxConnections = options.MaxConnections;
        _baseProtocol = webSocket is null ? "mqtt:ssl" : tls is null ? "mqtt:ws" : "mqtt:wss";
        _listenOn = options.EndPoint.ToString();
        _name = _baseProtocol + ":" + _listenOn;
        _protocol = FormatProtocol(options.EndPoint);

        // A stream (TLS, WebSocket) is read by a loop into a pipe, which pauses after one maximum-size packet is
        // buffered; the plain TCP transport needs no such bound, since it receives only when the broker reads.
        long read = StreamReadBufferSize;
        long write = options.MaxWriteBufferSize;
        _inputOptions = new PipeOptions(BlockMemoryPool.Instance, PipeScheduler.ThreadPool, PipeScheduler.Inline, read, read / 2, useSynchronizationContext: false);
        _outputOptions = new PipeOptions(BlockMemoryPool.Instance, PipeScheduler.Inline, PipeScheduler.ThreadPool, write, write / 2, useSynchronizationContext: false);
    }

    public EndPoint EndPoint => Volatile.Read(ref _endPoint);

    /// <summary>EMQX 4.4's v4 form: <c>mqtt:ssl</c>, <c>mqtt:ws:8083</c>, <c>mqtt:wss:8084</c> (WebSocket listeners carry their port).</summary>
    public string Protocol => Volatile.Read(ref _protocol);

    public string ListenOn => Volatile.Read(ref _listenOn);

    /// <summary>
    /// EMQX's <c>listen_on</c>: the port alone for a listener on every address (EMQX 4.4 configures its SSL, WS and WSS
    /// listeners as <c>8883</c>, <c>8083</c>, <c>8084</c> and reports them so), <c>address:port</c> for a specific one.
    /// </summary>
    internal static string FormatListenOn(EndPoint bound)
        => bound is IPEndPoint ip && (ip.Address.Equals(IPAddress.Any) || ip.Address.Equals(IPAddress.IPv6Any))
            ? ip.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : bound.ToString()!;

    public string Name => Volatile.Read(ref _name);

    public int Acceptors { get; }

    public int MaxConnections { get; }

    public int CurrentConnections => Volatile.Read(ref _currentConnections);

    public ShutdownCounter ShutdownCount { get; } = new();

    public bool IsListening => Volatile.Read(ref _listenSocket) is not null;

    public void RecordShutdown(string reason) => ShutdownCount.Record(reason);

    /// <summary>
    /// Loads the certificate (TLS), binds, listens and starts the accept loops. Throws <see cref="TlsCertificateException"/>
    /// when the certificate is missing or unreadable, <see cref="SocketException"/> when the address cannot be bound.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_stateLock)
        {
            if (_started)
            {
                throw new InvalidOperationException("A listener starts once; create a new one to listen again.");
            }

            _started = true;
            if (_tls is not null)
            {
                _tlsContext = TlsServerContext.Load(_tls);
            }

            var socket = new Socket(_configuredEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (_configuredEndPoint.Address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.Bind(_configuredEndPoint);
                socket.Listen(_backlog);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            EndPoint bound = socket.LocalEndPoint!;
            Volatile.Write(ref _endPoint, bound);
            string address = bound.ToString()!;
            Volatile.Write(ref _listenOn, FormatListenOn(bound));
            Volatile.Write(ref _name, _baseProtocol + ":" + address);
            Volatile.Write(ref _protocol, FormatProtocol(bound));
            Volatile.Write(ref _listenSocket, socket);

            var loops = new Task[Acceptors];
            for (int i = 0; i < loops.Length; i++)
            {
                loops[i] = AcceptLoopAsync(socket);
            }

            _acceptLoops = loops;
            TransportLog.ListenerStarted(_logger, Name, bound, Acceptors, MaxConnections);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            _started = true;
            _stopTask ??= StopAcceptingAsync();
        }

        return _stopTask.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Stops accepting, cancels the handlers' token (and every handshake in progress), waits for the handlers until
    /// <paramref name="cancellationToken"/> is cancelled, then aborts what is left.
    /// </summary>
    public async Task CloseConnectionsAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            _closingConnections.Cancel();
        }
        catch (AggregateException ex)
        {
            TransportLog.HandlerFailed(_logger, 0, ex);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        var serving = new List<Task>(_connections.Count);
        foreach (KeyValuePair<long, StreamConnection> entry in _connections)
        {
            serving.Add(entry.Value.ServeTask);
        }

        if (serving.Count == 0)
        {
            return;
        }

        try
        {
            await Task.WhenAll(serving).WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The grace period is over.
        }

        foreach (KeyValuePair<long, StreamConnection> entry in _connections)
        {
            entry.Value.Abort();
        }

        await Task.WhenAll(serving).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseConnectionsAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _closingConnections.Dispose();
        }
    }

    private string FormatProtocol(EndPoint endPoint)
        => _webSocket is null || endPoint is not IPEndPoint ip ? _baseProtocol : _baseProtocol + ":" + ip.Port.ToString(CultureInfo.InvariantCulture);

    private async Task StopAcceptingAsync()
    {
        Socket? socket = Interlocked.Exchange(ref _listenSocket, null);
        if (socket is null)
        {
            return;
        }

        socket.Dispose();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        TransportLog.ListenerStopped(_logger, Name);
    }

    private async Task AcceptLoopAsync(Socket listenSocket)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listenSocket.AcceptAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (!IsListening)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                continue;
            }
            catch (SocketException ex)
            {
                TransportLog.AcceptFailed(_logger, Name, ex.SocketErrorCode);
                await Task.Delay(s_acceptRetryDelay).ConfigureAwait(false);
                continue;
            }
            catch (Exception ex)
            {
                TransportLog.AcceptLoopFailed(_logger, Name, ex);
                return;
            }

            if (Interlocked.Increment(ref _currentConnections) > MaxConnections)
            {
                Interlocked.Decrement(ref _currentConnections);
                if (_logger.IsEnabled(LogLevel.Warning))
                {
                    TransportLog.ConnectionRefused(_logger, Name, StreamConnection.TryGetEndPoint(socket, remote: true), MaxConnections);
                }

                socket.Dispose();
                continue;
            }

            // The handshake is slow and may wait on the client: never on the accept loop.
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        long id = Interlocked.Increment(ref _nextConnectionId);
        StreamConnection? connection = null;
        try
        {
            socket.NoDelay = true;
            EndPoint? remote = StreamConnection.TryGetEndPoint(socket, remote: true);
            EndPoint? local = StreamConnection.TryGetEndPoint(socket, remote: false);
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.ConnectionAccepted(_logger, id, remote, Name);
            }

            (Stream? stream, string? peerCertUserName, string? failure) = await HandshakeAsync(socket).ConfigureAwait(false);
            if (stream is null)
            {
                socket.Dispose();
                if (failure is not null)
                {
                    ShutdownCount.Record(failure);
                }

                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    TransportLog.ConnectionClosed(_logger, id, failure ?? "aborted");
                }

                return;
            }

            connection = new StreamConnection(id, socket, stream, _inputOptions, _outputOptions, _closeTimeout, _logger);
            _connections[id] = connection;
            if (_closingConnections.IsCancellationRequested)
            {
                // Shutdown began during the handshake and has already collected the connections to wait for.
                connection.Abort();
            }

            connection.ServeTask = ServeConnectionAsync(connection, remote, local, peerCertUserName);
            await connection.ServeTask.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            TransportLog.ConnectionLoopFailed(_logger, "serve", id, ex);
            socket.Dispose();
        }
        finally
        {
            if (connection is not null)
            {
                _connections.TryRemove(id, out _);
            }

            Interlocked.Decrement(ref _currentConnections);
        }
    }

    private async Task ServeConnectionAsync(StreamConnection connection, EndPoint? remote, EndPoint? local, string? peerCertUserName)
    {
        connection.Start();
        var info = new ConnectionInfo
        {
            RemoteEndPoint = remote,
            LocalEndPoint = local,
            ListenerName = Name,
            ListenerProtocol = _baseProtocol,
            PeerCertUserName = peerCertUserName,
        };

        try
        {
            await _handler(connection, info, _closingConnections.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_closingConnections.IsCancellationRequested)
        {
            // The handler honoured the listener's close request.
        }
        catch (Exception ex)
        {
            TransportLog.HandlerFailed(_logger, connection.Id, ex);
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        string? reason = connection.ShutdownReason is null ? null : info.ShutdownReason ?? connection.ShutdownReason;
        if (reason is not null)
        {
            ShutdownCount.Record(reason);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            TransportLog.ConnectionClosed(_logger, connection.Id, reason ?? "aborted");
        }
    }

    /// <summary>TLS then WebSocket, within the handshake timeout; on failure the stream is null and the reason says why (null: listener shutdown).</summary>
    private async Task<(Stream? Stream, string? PeerCertUserName, string? Failure)> HandshakeAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closingConnections.Token);
        timeout.CancelAfter(_handshakeTimeout);
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        string? peerCertUserName = null;
        try
        {
            if (_tlsContext is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsServerAsync(_tlsContext.Authentication, timeout.Token).ConfigureAwait(false);
                peerCertUserName = _tlsContext.PeerCertUserName(ssl);
            }

            if (_webSocket is not null)
            {
                WebSocketUpgrade.Result upgrade = await WebSocketUpgrade.AcceptAsync(stream, _webSocket, timeout.Token).ConfigureAwait(false);
                if (upgrade.WebSocket is null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    return (null, null, upgrade.PeerClosed ? ShutdownReasons.TcpClosed : ShutdownReasons.BadRequest);
                }

                stream = new WebSocketMessageStream(upgrade.WebSocket);
            }

            return (stream, peerCertUserName, null);
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            await DisposeQuietlyAsync(stream).ConfigureAwait(false);
            if (_closingConnections.IsCancellationRequested)
            {
                return (null, null, null);
            }

            string failure = timeout.IsCancellationRequested ? ShutdownReasons.HandshakeTimeout
                : ex is AuthenticationException || _tlsContext is not null && stream is SslStream { IsAuthenticated: false } ? ShutdownReasons.SslError
                : ShutdownReasons.TcpClosed;
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.HandshakeFailed(_logger, Name, failure, ex.Message);
            }

            return (null, null, failure);
        }
    }

    private static async ValueTask DisposeQuietlyAsync(Stream stream)
    {
        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Over a dead socket.
        }
    }
}
