using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Diagnostics;

/// <summary>Log messages of the transport, with stable event ids (1xxx). Nothing here is logged per packet.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(1000, LogLevel.Debug, "Listener {ListenerName} bound to {EndPoint} with {Acceptors} acceptors, max_conns {MaxConnections}.")]
    public static partial void ListenerStarted(ILogger logger, string listenerName, EndPoint endPoint, int acceptors, int maxConnections);

    [LoggerMessage(1001, LogLevel.Debug, "Listener {ListenerName} stopped accepting.")]
    public static partial void ListenerStopped(ILogger logger, string listenerName);

    [LoggerMessage(1002, LogLevel.Warning, "Listener {ListenerName} refused a connection from {RemoteEndPoint}: max_conns {MaxConnections} reached.")]
    public static partial void ConnectionRefused(ILogger logger, string listenerName, EndPoint? remoteEndPoint, int maxConnections);

    [LoggerMessage(1003, LogLevel.Warning, "Listener {ListenerName} failed to accept a connection ({SocketError}); retrying.")]
    public static partial void AcceptFailed(ILogger logger, string listenerName, SocketError socketError);

    [LoggerMessage(1004, LogLevel.Debug, "Connection {ConnectionId} from {RemoteEndPoint} accepted on {ListenerName}.")]
    public static partial void ConnectionAccepted(ILogger logger, long connectionId, EndPoint? remoteEndPoint, string listenerName);

    [LoggerMessage(1005, LogLevel.Debug, "Connection {ConnectionId} closed: {Reason}.")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, string reason);

    [LoggerMessage(1006, LogLevel.Error, "The handler of connection {ConnectionId} failed.")]
    public static partial void HandlerFailed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(1007, LogLevel.Error, "Unexpected error in the {Loop} loop of connection {ConnectionId}.")]
    public static partial void ConnectionLoopFailed(ILogger logger, string loop, long connectionId, Exception exception);

    [LoggerMessage(1008, LogLevel.Debug, "Connection {ConnectionId} did not drain its output within {CloseTimeout}; aborted.")]
    public static partial void CloseTimedOut(ILogger logger, long connectionId, TimeSpan closeTimeout);

    [LoggerMessage(1009, LogLevel.Error, "Listener {ListenerName} stopped accepting after an unexpected error.")]
    public static partial void AcceptLoopFailed(ILogger logger, string listenerName, Exception exception);

    [LoggerMessage(1010, LogLevel.Debug, "Listener {ListenerName}: a handshake failed ({Reason}): {Message}")]
    public static partial void HandshakeFailed(ILogger logger, string listenerName, string reason, string message);
}
