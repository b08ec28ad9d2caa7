using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Core;
using Broker.Transport.Connections;
using Broker.Transport.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Tcp;

/// <summary>
/// A TCP listener that turns every accepted socket into an <see cref="IDuplexPipe"/> and hands it to a handler,
/// usually <see cref="MqttBroker.RunConnectionAsync"/> (Kestrel's SocketConnectionListener plus its connection
/// dispatcher). It keeps the figures EMQX's listener routes report: acceptors, max_conns, current_conns, shutdown_count.
/// </summary>
/// <remarks>
/// Shutdown is in two steps, so the owner can close connections its own way in between:
/// <see cref="StopAsync"/> stops accepting; <see cref="CloseConnectionsAsync"/> cancels the handlers' token, waits,
/// then aborts the sockets that remain. <see cref="DisposeAsync"/> does both without waiting.
/// </remarks>
public sealed class SocketListener : IConnectionListener
{
    /// <summary>EMQX's protocol name of an MQTT over TCP listener.</summary>
    public const string TcpProtocol = "mqtt:tcp";

    // A failed accept that is not a reset (EMFILE, ENOBUFS) fails again at once: pause instead of spinning.
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> _handler;
    private readonly ILogger _logger;
    private readonly IPEndPoint _configuredEndPoint;
    private readonly int _backlog;
    private readonly SocketTransportOptions _transport;
    private readonly ConcurrentDictionary<long, SocketConnection> _connections = new();
    private readonly CancellationTokenSource _closingConnections = new();
    private readonly Lock _stateLock = new();

    private Socket? _listenSocket;
    private Task[] _acceptLoops = [];
    private Task? _stopTask;
    private bool _started;
    private EndPoint _endPoint;
    // The bound address when it is a specific one: then every accepted socket's local address is this one, and
    // sharing it saves a getsockname and an endpoint per connection. Null for a wildcard bind.
    private EndPoint? _sharedLocalEndPoint;
    private string _listenOn;
    private string _name;
    private int _currentConnections;
    private long _acceptedConnections;
    private long _refusedConnections;
    private long _nextConnectionId;
    private int _disposed;

    /// <param name="options">Read once here; later changes to it do not apply to this listener.</param>
    /// <param name="handler">
    /// Serves one connection until it ends; it may throw, and is then logged, never rethrown. It starts on an accept
    /// loop and runs there until its first await, so that part must be short and must not block.
    /// </param>
    /// <param name="loggerFactory">Logs under <c>Broker.Transport.SocketListener</c>.</param>
    public SocketListener(SocketListenerOptions options, Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> handler, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);

        _handler = handler;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Transport.SocketListener");
        _configuredEndPoint = options.EndPoint;
        _endPoint = options.EndPoint;
        _listenOn = options.EndPoint.ToString();
        _name = TcpProtocol + ":" + _listenOn;
        _backlog = options.Backlog;
        _transport = new SocketTransportOptions(options);
        Acceptors = options.Acceptors;
        MaxConnections = options.MaxConnections;
    }

    /// <summary>The bound address once started (with the real port when configured with port 0), the configured one before.</summary>
    public EndPoint EndPoint => Volatile.Read(ref _endPoint);

    /// <summary>EMQX's <c>protocol</c>: <c>mqtt:tcp</c>.</summary>
#pragma warning disable CA1822 // An instance figure beside the others: the management API reads every listener alike.
    public string Protocol => TcpProtocol;
#pragma warning restore CA1822

    /// <summary>EMQX's <c>listen_on</c>, for example <c>0.0.0.0:1883</c>.</summary>
    public string ListenOn => Volatile.Read(ref _listenOn);

    /// <summary>The listener's name in EMQX's form, <c>mqtt:tcp:0.0.0.0:1883</c>; also <see cref="ConnectionInfo.ListenerName"/>.</summary>
    public string Name => Volatile.Read(ref _name);

    /// <summary>EMQX's <c>acceptors</c>: concurrent accept loops.</summary>
    public int Acceptors { get; }

    /// <summary>EMQX's <c>max_conns</c>.</summary>
    public int MaxConnections { get; }

    /// <summary>EMQX's <c>current_conns</c>: connections accepted and not yet closed.</summary>
    public int CurrentConnections => Volatile.Read(ref _currentConnections);

    /// <summary>Connections handed to the handler since start.</summary>
    public long AcceptedConnections => Interlocked.Read(ref _acceptedConnections);

    /// <summary>Connections accepted and closed at once because <see cref="MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);

    /// <summary>EMQX's <c>shutdown_count</c>: closes by reason (<see cref="ShutdownReasons"/>).</summary>
    public ShutdownCounter ShutdownCount { get; } = new();

    /// <summary>Whether the listener is accepting connections.</summary>
    public bool IsListening => Volatile.Read(ref _listenSocket) is not null;

    /// <summary>Counts a close the transport cannot see by itself, for example <see cref="ShutdownReasons.Kicked"/>.</summary>
    public void RecordShutdown(string reason) => ShutdownCount.Record(reason);

    /// <summary>Binds, listens and starts the accept loops. Throws <see cref="SocketException"/> when the address cannot be bound.</summary>
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
            var socket = new Socket(_configuredEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (_configuredEndPoint.Address.Equals(IPAddress.IPv6Any))
                {
                    // [::] serves IPv4 clients too, as EMQX's "::" listeners do.
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
            if (bound is IPEndPoint ip && !ip.Address.Equals(IPAddress.Any) && !ip.Address.Equals(IPAddress.IPv6Any))
            {
                _sharedLocalEndPoint = bound;
            }
            string listenOn = bound.ToString()!;
            Volatile.Write(ref _listenOn, listenOn);
            Volatile.Write(ref _name, TcpProtocol + ":" + listenOn);
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

    /// <summary>
    /// Stops accepting and returns when the accept loops have ended. Open connections keep running: their owner
    /// (the broker, on its own shutdown) closes them, or <see cref="CloseConnectionsAsync"/> does.
    /// </summary>
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
    /// Stops accepting, then cancels the token passed to every handler and waits for the handlers to return until
    /// <paramref name="cancellationToken"/> is cancelled; the sockets still open then are aborted (their pipes
    /// complete with an error), and this returns when every handler has returned.
    /// </summary>
    public async Task CloseConnectionsAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposal already closed every connection.
            return;
        }

        try
        {
            _closingConnections.Cancel();
        }
        catch (AggregateException ex)
        {
            // A handler's cancellation callback threw; the others ran, and closing goes on.
            TransportLog.HandlerFailed(_logger, 0, ex);
        }
        catch (ObjectDisposedException)
        {
            // A concurrent DisposeAsync got here first and closed everything.
            return;
        }

        Task[] serving = SnapshotServeTasks();
        if (serving.Length == 0)
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

        foreach (KeyValuePair<long, SocketConnection> entry in _connections)
        {
            entry.Value.Abort();
        }

        // ServeAsync never faults, and an aborted connection's handler sees both pipes end.
        await Task.WhenAll(serving).ConfigureAwait(false);
    }

    /// <summary>Stops accepting and aborts every open connection; returns when their handlers have returned.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseConnectionsAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _closingConnections.Dispose();
            _transport.SenderPool.Dispose();
        }
    }

    private async Task StopAcceptingAsync()
    {
        Socket? socket = Interlocked.Exchange(ref _listenSocket, null);
        if (socket is null)
        {
            return;
        }

        // Pending accepts complete with OperationAborted, and each loop ends.
        socket.Dispose();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        TransportLog.ListenerStopped(_logger, Name);
    }

    private Task[] SnapshotServeTasks()
    {
        // After StopAsync no connection is added, so this sees every connection that will ever be served.
        var tasks = new List<Task>(_connections.Count);
        foreach (KeyValuePair<long, SocketConnection> entry in _connections)
        {
            tasks.Add(entry.Value.ServeTask);
        }

        return [.. tasks];
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
                // Reset while still in the backlog: nothing to serve.
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

            OnAccepted(socket);
        }
    }

    private void OnAccepted(Socket socket)
    {
        if (Interlocked.Increment(ref _currentConnections) > MaxConnections)
        {
            Interlocked.Decrement(ref _currentConnections);
            Interlocked.Increment(ref _refusedConnections);
            ShutdownCount.Record(ShutdownReasons.MaxLimit);
            if (_logger.IsEnabled(LogLevel.Warning))
            {
                TransportLog.ConnectionRefused(_logger, Name, TryGetRemoteEndPoint(socket), MaxConnections);
            }

            // esockd closes over-limit sockets the same way: the client sees the connection close before CONNACK.
            socket.Dispose();
            return;
        }

        SocketConnection connection;
        try
        {
            socket.NoDelay = true;
            connection = new SocketConnection(
                Interlocked.Increment(ref _nextConnectionId), socket, _sharedLocalEndPoint, _transport, _logger);
        }
        catch (SocketException)
        {
            // Reset between accept and set-up.
            Interlocked.Decrement(ref _currentConnections);
            socket.Dispose();
            return;
        }

        Interlocked.Increment(ref _acceptedConnections);
        _connections[connection.Id] = connection;
        connection.ServeTask = ServeAsync(connection);
    }

    private async Task ServeAsync(SocketConnection connection)
    {
        // Runs on the accept loop up to the handler's first await: connection set-up is a few allocations and the
        // first receive, cheaper than a thread-pool hop per connection (the accept loop resumes on the thread pool
        // already, and the handler's packets are handled where their receive completes).
        try
        {
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.ConnectionAccepted(_logger, connection.Id, connection.RemoteEndPoint, Name);
            }

            var info = new ConnectionInfo
            {
                RemoteEndPoint = connection.RemoteEndPoint,
                LocalEndPoint = connection.LocalEndPoint,
                ListenerName = Name,
                ListenerProtocol = TcpProtocol,
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

            // A reason the broker set (a kick) wins over what the socket saw; a listener abort stays uncounted.
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
        catch (Exception ex)
        {
            // Closing a connection must not take the listener down; the loops never throw, so this is a bug.
            TransportLog.ConnectionLoopFailed(_logger, "serve", connection.Id, ex);
            connection.Abort();
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            Interlocked.Decrement(ref _currentConnections);
        }
    }

    private static EndPoint? TryGetRemoteEndPoint(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
