using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Core;
using Broker.Shared;
using Broker.Transport.Diagnostics;
using Broker.Transport.Tcp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Connections;

/// <summary>
/// What every MQTT listener does with its listening socket, whatever it makes of the accepted ones: bind, run the
/// accept loops, refuse connections above <c>max_conns</c> (closed at once and counted as <c>maxlimit</c>, as esockd
/// does), keep EMQX's figures, and shut down in two steps. <see cref="SocketListener"/> serves the accepted sockets
/// directly; <see cref="StreamListener"/> after a TLS and/or WebSocket handshake.
/// </summary>
/// <remarks>
/// Shutdown is in two steps, so the owner can close connections its own way in between: <see cref="StopAsync"/>
/// stops accepting; <see cref="CloseConnectionsAsync"/> cancels the handlers' token, waits, then aborts the
/// connections that remain. <see cref="DisposeAsync"/> does both without waiting.
/// </remarks>
public abstract class ConnectionListener : IConnectionListener
{
    // A failed accept that is not a reset (EMFILE, ENOBUFS) fails again at once: pause instead of spinning.
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> _handler;
    private readonly IPEndPoint _configuredEndPoint;
    private readonly int _backlog;
    private readonly string _namePrefix;
    private readonly CancellationTokenSource _closingConnections = new();
    private readonly Lock _stateLock = new();

    // The connections being served: an intrusive list under its own lock (no dictionary node per connection, and no
    // garbage nodes when a dictionary would grow), and a waiter for the list to empty once shutdown asks.
    private readonly Lock _connectionsLock = new();
    private readonly IntrusiveList<ServedConnection> _served = new();
    private TaskCompletionSource? _allServed;

    private Socket? _listenSocket;
    private Task[] _acceptLoops = [];
    private Task? _stopTask;
    private bool _started;
    private EndPoint _endPoint;
    private string _listenOn;
    private string _name;
    private int _currentConnections;
    private long _acceptedConnections;
    private long _refusedConnections;
    private long _nextConnectionId;
    private int _disposed;

    /// <param name="options">Address, acceptors, max_conns and backlog; read once here.</param>
    /// <param name="handler">Serves one connection until it ends, usually <c>MqttBroker.RunConnectionAsync</c>; it may throw, and is then logged.</param>
    /// <param name="namePrefix">The protocol part of <see cref="Name"/>: <c>mqtt:tcp</c>, <c>mqtt:ssl</c>...</param>
    /// <param name="loggerCategory">The category this listener logs under.</param>
    /// <param name="loggerFactory">Null for no logging.</param>
    private protected ConnectionListener(
        SocketListenerOptions options, Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> handler, string namePrefix, string loggerCategory, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(loggerCategory);
        _configuredEndPoint = options.EndPoint;
        _endPoint = options.EndPoint;
        _backlog = options.Backlog;
        _namePrefix = namePrefix;
        _listenOn = options.EndPoint.ToString();
        _name = namePrefix + ":" + _listenOn;
        Acceptors = options.Acceptors;
        MaxConnections = options.MaxConnections;
    }

    /// <summary>The bound address once started (with the real port when configured with port 0), the configured one before.</summary>
    public EndPoint EndPoint => Volatile.Read(ref _endPoint);

    /// <summary>EMQX's <c>protocol</c>.</summary>
    public abstract string Protocol { get; }

    /// <summary>EMQX's <c>listen_on</c>, for example <c>0.0.0.0:1883</c>.</summary>
    public string ListenOn => Volatile.Read(ref _listenOn);

    /// <summary>The listener's name in EMQX's form, <c>mqtt:tcp:0.0.0.0:1883</c>; also <c>ConnectionInfo.ListenerName</c>.</summary>
    public string Name => Volatile.Read(ref _name);

    /// <summary>EMQX's <c>acceptors</c>: concurrent accept loops.</summary>
    public int Acceptors { get; }

    /// <summary>EMQX's <c>max_conns</c>.</summary>
    public int MaxConnections { get; }

    /// <summary>EMQX's <c>current_conns</c>: connections accepted and not yet closed (handshakes included).</summary>
    public int CurrentConnections => Volatile.Read(ref _currentConnections);

    /// <summary>Connections accepted under the limit since start.</summary>
    public long AcceptedConnections => Interlocked.Read(ref _acceptedConnections);

    /// <summary>Connections closed at accept because <see cref="MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);

    /// <summary>EMQX's <c>shutdown_count</c>: closes by reason.</summary>
    public ShutdownCounter ShutdownCount { get; } = new();

    /// <summary>Whether the accept loops are running.</summary>
    public bool IsListening => Volatile.Read(ref _listenSocket) is not null;

    private protected ILogger Logger { get; }

    /// <summary>Cancelled when the listener closes its connections: the handlers' token.</summary>
    private protected CancellationToken ClosingToken => _closingConnections.Token;

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
            OnStarting();
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
            Volatile.Write(ref _listenOn, FormatListenOn(bound));
            Volatile.Write(ref _name, _namePrefix + ":" + bound);
            OnBound(bound);
            Volatile.Write(ref _listenSocket, socket);

            var loops = new Task[Acceptors];
            for (int i = 0; i < loops.Length; i++)
            {
                loops[i] = AcceptLoopAsync(socket);
            }

            _acceptLoops = loops;
            TransportLog.ListenerStarted(Logger, Name, bound, Acceptors, MaxConnections);
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
    /// Stops accepting, then cancels the token passed to every handler (and every handshake in progress) and waits for
    /// the handlers to return until <paramref name="cancellationToken"/> is cancelled; the connections still open then
    /// are aborted, and this returns when every handler has returned.
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
            TransportLog.HandlerFailed(Logger, 0, ex);
        }
        catch (ObjectDisposedException)
        {
            // A concurrent DisposeAsync got here first and closed everything.
            return;
        }

        // After StopAsync no connection is added but one finishing its handshake, which is aborted at once and
        // counted here too.
        Task allServed;
        lock (_connectionsLock)
        {
            if (_served.Count == 0)
            {
                return;
            }

            _allServed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            allServed = _allServed.Task;
        }

        try
        {
            await allServed.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The grace period is over.
        }

        List<ServedConnection> remaining = [];
        lock (_connectionsLock)
        {
            for (ServedConnection? connection = _served.First; connection is not null; connection = connection.NextInList)
            {
                remaining.Add(connection);
            }
        }

        foreach (ServedConnection connection in remaining)
        {
            connection.Abort();
        }

        // Serving never faults, and an aborted connection's handler sees its input end.
        await allServed.ConfigureAwait(false);
    }

    /// <summary>Stops accepting and aborts every open connection; returns when their handlers have returned.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseConnectionsAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _closingConnections.Dispose();
            OnDisposed();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Before binding (a TLS listener loads its certificate here, so a bad one fails the start).</summary>
    private protected virtual void OnStarting()
    {
    }

    /// <summary>After binding, with the bound address.</summary>
    private protected virtual void OnBound(EndPoint bound)
    {
    }

    /// <summary>Once, when the listener is disposed and every connection has ended.</summary>
    private protected virtual void OnDisposed()
    {
    }

    /// <summary>EMQX's <c>listen_on</c> for the bound address; <c>address:port</c> unless a listener says otherwise.</summary>
    private protected virtual string FormatListenOn(EndPoint bound) => bound.ToString()!;

    /// <summary>
    /// Serves an accepted socket, counted in <see cref="CurrentConnections"/>. Runs on the accept loop: it must not
    /// block. Whatever happens, it ends with <see cref="ReleaseSlot"/> once the connection is gone.
    /// </summary>
    private protected abstract void OnAccepted(Socket socket);

    private protected long NextConnectionId() => Interlocked.Increment(ref _nextConnectionId);

    /// <summary>A connection to wait for (and abort) on close; call after <see cref="CountAccepted"/>.</summary>
    private protected void Track(ServedConnection connection)
    {
        lock (_connectionsLock)
        {
            _served.Add(connection);
        }
    }

    /// <summary>The connection has been served and closed (or never got going); a connection not listed is ignored.</summary>
    private protected void Untrack(ServedConnection connection)
    {
        lock (_connectionsLock)
        {
            if (_served.Remove(connection) && _served.Count == 0)
            {
                _allServed?.TrySetResult();
            }
        }
    }

    private protected void CountAccepted() => Interlocked.Increment(ref _acceptedConnections);

    /// <summary>The accepted socket's connection has ended (or never got going): its slot under max_conns is free.</summary>
    private protected void ReleaseSlot() => Interlocked.Decrement(ref _currentConnections);

    /// <summary>
    /// Serves a tracked connection: runs the handler, then closes the connection and counts why it ended (a reason
    /// the broker set, a kick, wins over what the transport saw; a listener abort stays uncounted, as in esockd), then
    /// untracks it and frees its slot. Never throws. One state machine per connection while it is served.
    /// </summary>
    private protected async Task ServeConnectionAsync(ServedConnection connection, ConnectionInfo info)
    {
        try
        {
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
                TransportLog.HandlerFailed(Logger, connection.Id, ex);
            }

            // A Task, like the handler's: one awaiter field in this state machine, which every open connection holds.
            await CloseServedAsync(connection, info).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Closing a connection must not take the listener down; the transports never throw, so this is a bug.
            TransportLog.ConnectionLoopFailed(Logger, "serve", connection.Id, ex);
            connection.Abort();
        }
        finally
        {
            Untrack(connection);
            ReleaseSlot();
        }
    }

    /// <summary>After the handler: closes the connection and counts why it ended.</summary>
    private async Task CloseServedAsync(ServedConnection connection, ConnectionInfo info)
    {
        await connection.DisposeAsync().ConfigureAwait(false);
        string? reason = connection.ShutdownReason is null ? null : info.ShutdownReason ?? connection.ShutdownReason;
        if (reason is not null)
        {
            ShutdownCount.Record(reason);
        }

        if (Logger.IsEnabled(LogLevel.Debug))
        {
            TransportLog.ConnectionClosed(Logger, connection.Id, reason ?? "aborted");
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
        TransportLog.ListenerStopped(Logger, Name);
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
                TransportLog.AcceptFailed(Logger, Name, ex.SocketErrorCode);
                await Task.Delay(s_acceptRetryDelay).ConfigureAwait(false);
                continue;
            }
            catch (Exception ex)
            {
                TransportLog.AcceptLoopFailed(Logger, Name, ex);
                return;
            }

            if (Interlocked.Increment(ref _currentConnections) > MaxConnections)
            {
                Interlocked.Decrement(ref _currentConnections);
                Interlocked.Increment(ref _refusedConnections);
                ShutdownCount.Record(ShutdownReasons.MaxLimit);
                if (Logger.IsEnabled(LogLevel.Warning))
                {
                    TransportLog.ConnectionRefused(Logger, Name, TryGetRemoteEndPoint(socket), MaxConnections);
                }

                // esockd closes over-limit sockets the same way: the client sees the connection close before CONNACK.
                socket.Dispose();
                continue;
            }

            OnAccepted(socket);
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

/// <summary>
/// A connection a <see cref="ConnectionListener"/> serves, waits for on close, and aborts when the grace period ends;
/// also its place in the listener's list of open connections.
/// </summary>
internal abstract class ServedConnection(long id) : IDuplexPipe, IAsyncDisposable, IIntrusiveListNode<ServedConnection>
{
    /// <summary>The listener's number for this connection, for logs.</summary>
    public long Id { get; } = id;

    public abstract PipeReader Input { get; }

    public abstract PipeWriter Output { get; }

    /// <summary>The close reason for <c>shutdown_count</c>, or null for an abort by the listener's own shutdown.</summary>
    public abstract string? ShutdownReason { get; }

    /// <summary>Neighbours in the listener's list, under its lock.</summary>
    public ServedConnection? PreviousInList { get; set; }

    public ServedConnection? NextInList { get; set; }

    public abstract void Abort();

    public abstract ValueTask DisposeAsync();
}
