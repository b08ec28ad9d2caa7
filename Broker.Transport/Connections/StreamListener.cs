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
public sealed class StreamListener : ConnectionListener
{
    // A stream (TLS, WebSocket) is read by a loop into a pipe, which pauses after one maximum-size packet is
    // buffered; the plain TCP transport needs no such bound, since it receives only when the broker reads.
    private const long StreamReadBufferSize = 1024 * 1024;

    private readonly TimeSpan _closeTimeout;
    private readonly TimeSpan _handshakeTimeout;
    private readonly TlsListenerOptions? _tls;
    private readonly WebSocketListenerOptions? _webSocket;
    private readonly string _baseProtocol;
    private readonly PipeOptions _inputOptions;
    private readonly PipeOptions _outputOptions;

    private TlsServerContext? _tlsContext;
    private string _protocol;

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
        : base(options, handler, BaseProtocol(tls, webSocket), "Broker.Transport.StreamListener", loggerFactory)
    {
        _tls = tls;
        _webSocket = webSocket;
        _closeTimeout = options.CloseTimeout;
        _handshakeTimeout = TimeSpan.FromTicks(Math.Max(tls?.HandshakeTimeout.Ticks ?? 0, webSocket?.HandshakeTimeout.Ticks ?? 0));
        _baseProtocol = BaseProtocol(tls, webSocket);
        _protocol = FormatProtocol(options.EndPoint);
        long read = StreamReadBufferSize;
        long write = options.MaxWriteBufferSize;
        _inputOptions = new PipeOptions(BlockMemoryPool.Instance, PipeScheduler.ThreadPool, PipeScheduler.Inline, read, read / 2, useSynchronizationContext: false);
        _outputOptions = new PipeOptions(BlockMemoryPool.Instance, PipeScheduler.Inline, PipeScheduler.ThreadPool, write, write / 2, useSynchronizationContext: false);
    }

    /// <summary>EMQX 4.4's v4 form: <c>mqtt:ssl</c>, <c>mqtt:ws:8083</c>, <c>mqtt:wss:8084</c> (WebSocket listeners carry their port).</summary>
    public override string Protocol => Volatile.Read(ref _protocol);

    /// <summary>
    /// EMQX's <c>listen_on</c>: the port alone for a listener on every address (EMQX 4.4 configures its SSL, WS and WSS
    /// listeners as <c>8883</c>, <c>8083</c>, <c>8084</c> and reports them so), <c>address:port</c> for a specific one.
    /// </summary>
    internal static string FormatListenOnAddress(EndPoint bound)
        => bound is IPEndPoint ip && (ip.Address.Equals(IPAddress.Any) || ip.Address.Equals(IPAddress.IPv6Any))
            ? ip.Port.ToString(CultureInfo.InvariantCulture)
            : bound.ToString()!;

    /// <summary>Loads the certificate: a missing or unreadable one fails the start (<see cref="TlsCertificateException"/>) before anything binds.</summary>
    private protected override void OnStarting()
    {
        if (_tls is not null)
        {
            _tlsContext = TlsServerContext.Load(_tls);
        }
    }

    private protected override void OnBound(EndPoint bound) => Volatile.Write(ref _protocol, FormatProtocol(bound));

    private protected override string FormatListenOn(EndPoint bound) => FormatListenOnAddress(bound);

    private protected override void OnAccepted(Socket socket)
    {
        // The handshake is slow and may wait on the client: never on the accept loop.
        _ = Task.Run(() => ServeAsync(socket));
    }

    private static string BaseProtocol(TlsListenerOptions? tls, WebSocketListenerOptions? webSocket)
        => tls is null && webSocket is null
            ? throw new ArgumentException("A stream listener needs TLS, WebSocket or both; plain TCP is SocketListener's.")
            : webSocket is null ? "mqtt:ssl" : tls is null ? "mqtt:ws" : "mqtt:wss";

    private string FormatProtocol(EndPoint endPoint)
        => _webSocket is null || endPoint is not IPEndPoint ip ? _baseProtocol : _baseProtocol + ":" + ip.Port.ToString(CultureInfo.InvariantCulture);

    private async Task ServeAsync(Socket socket)
    {
        long id = NextConnectionId();
        StreamConnection? connection = null;
        bool handedOver = false;
        try
        {
            socket.NoDelay = true;
            EndPoint? remote = StreamConnection.TryGetEndPoint(socket, remote: true);
            EndPoint? local = StreamConnection.TryGetEndPoint(socket, remote: false);
            if (Logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.ConnectionAccepted(Logger, id, remote, Name);
            }

            (Stream? stream, string? peerCertUserName, string? failure) = await HandshakeAsync(socket).ConfigureAwait(false);
            if (stream is null)
            {
                socket.Dispose();
                if (failure is not null)
                {
                    ShutdownCount.Record(failure);
                }

                if (Logger.IsEnabled(LogLevel.Debug))
                {
                    TransportLog.ConnectionClosed(Logger, id, failure ?? "aborted");
                }

                return;
            }

            connection = new StreamConnection(id, socket, stream, _inputOptions, _outputOptions, _closeTimeout, Logger);
            CountAccepted();
            Track(connection);
            if (ClosingToken.IsCancellationRequested)
            {
                // Shutdown began during the handshake and has already collected the connections to wait for.
                connection.Abort();
            }

            connection.Start();
            var info = new ConnectionInfo
            {
                RemoteEndPoint = remote,
                LocalEndPoint = local,
                ListenerName = Name,
                ListenerProtocol = _baseProtocol,
                PeerCertUserName = peerCertUserName,
            };

            // From here the connection is the base's to serve, untrack and count down.
            _ = ServeConnectionAsync(connection, info);
            handedOver = true;
        }
        catch (Exception ex)
        {
            TransportLog.ConnectionLoopFailed(Logger, "serve", id, ex);
            connection?.Abort();
            socket.Dispose();
        }
        finally
        {
            if (!handedOver)
            {
                if (connection is not null)
                {
                    Untrack(connection);
                }

                ReleaseSlot();
            }
        }
    }

    /// <summary>TLS then WebSocket, within the handshake timeout; on failure the stream is null and the reason says why (null: listener shutdown).</summary>
    private async Task<(Stream? Stream, string? PeerCertUserName, string? Failure)> HandshakeAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ClosingToken);
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
            if (ClosingToken.IsCancellationRequested)
            {
                return (null, null, null);
            }

            string failure = timeout.IsCancellationRequested ? ShutdownReasons.HandshakeTimeout
                : ex is AuthenticationException || _tlsContext is not null && stream is SslStream { IsAuthenticated: false } ? ShutdownReasons.SslError
                : ShutdownReasons.TcpClosed;
            if (Logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.HandshakeFailed(Logger, Name, failure, ex.Message);
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
