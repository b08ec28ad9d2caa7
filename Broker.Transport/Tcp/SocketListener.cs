using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Core;
using Broker.Transport.Connections;
using Broker.Transport.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Tcp;

/// <summary>
/// A TCP listener that turns every accepted socket into an <see cref="IDuplexPipe"/> and hands it to a handler,
/// usually <see cref="MqttBroker.RunConnectionAsync"/> (Kestrel's SocketConnectionListener plus its connection
/// dispatcher). Binding, accepting, limits, figures and shutdown are <see cref="ConnectionListener"/>'s.
/// </summary>
public sealed class SocketListener : ConnectionListener
{
    /// <summary>EMQX's protocol name of an MQTT over TCP listener.</summary>
    public const string TcpProtocol = "mqtt:tcp";

    private readonly SocketTransportOptions _transport;

    // The bound address when it is a specific one: then every accepted socket's local address is this one, and
    // sharing it saves a getsockname and an endpoint per connection. Null for a wildcard bind.
    private EndPoint? _sharedLocalEndPoint;

    /// <param name="options">Read once here; later changes to it do not apply to this listener.</param>
    /// <param name="handler">
    /// Serves one connection until it ends; it may throw, and is then logged, never rethrown. It starts on an accept
    /// loop and runs there until its first await, so that part must be short and must not block.
    /// </param>
    /// <param name="loggerFactory">Logs under <c>Broker.Transport.SocketListener</c>.</param>
    public SocketListener(SocketListenerOptions options, Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> handler, ILoggerFactory? loggerFactory = null)
        : base(options, handler, TcpProtocol, "Broker.Transport.SocketListener", loggerFactory)
    {
        _transport = new SocketTransportOptions(options, Logger);
    }

    /// <summary>EMQX's <c>protocol</c>: <c>mqtt:tcp</c>.</summary>
    public override string Protocol => TcpProtocol;

    private protected override void OnBound(EndPoint bound)
    {
        if (bound is IPEndPoint ip && !ip.Address.Equals(IPAddress.Any) && !ip.Address.Equals(IPAddress.IPv6Any))
        {
            _sharedLocalEndPoint = bound;
        }
    }

    private protected override void OnDisposed() => _transport.SenderPool.Dispose();

    private protected override void OnAccepted(Socket socket)
    {
        SocketConnection connection;
        try
        {
            socket.NoDelay = true;
            connection = new SocketConnection(NextConnectionId(), socket, _sharedLocalEndPoint, _transport);
        }
        catch (SocketException)
        {
            // Reset between accept and set-up.
            ReleaseSlot();
            socket.Dispose();
            return;
        }

        CountAccepted();
        Track(connection);
        _ = ServeAsync(connection);
    }

    private Task ServeAsync(SocketConnection connection)
    {
        // Runs on the accept loop up to the handler's first await: connection set-up is a few allocations and the
        // first receive, cheaper than a thread-pool hop per connection (the accept loop resumes on the thread pool
        // already, and the handler's packets are handled where their receive completes).
        if (Logger.IsEnabled(LogLevel.Debug))
        {
            TransportLog.ConnectionAccepted(Logger, connection.Id, connection.RemoteEndPoint, Name);
        }

        var info = new ConnectionInfo
        {
            RemoteEndPoint = connection.RemoteEndPoint,
            LocalEndPoint = connection.LocalEndPoint,
            ListenerName = Name,
            ListenerProtocol = TcpProtocol,
        };

        return ServeConnectionAsync(connection, info);
    }
}
