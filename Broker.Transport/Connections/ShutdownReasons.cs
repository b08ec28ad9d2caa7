namespace Broker.Transport.Connections;

/// <summary>
/// The close reasons a transport counts in a listener's <c>shutdown_count</c>, named as EMQX 4.4 names them
/// (esockd counts the <c>{shutdown, Reason}</c> exits of connection processes; the management API reports them).
/// The broker or the host adds its own (<c>kicked</c>, <c>discarded</c>, <c>takeovered</c>...) through
/// <see cref="ConnectionListener.RecordShutdown(string)"/>.
/// </summary>
public static class ShutdownReasons
{
    /// <summary>The handler ended the connection (the broker closed it): EMQX's <c>normal</c>.</summary>
    public const string Normal = "normal";

    /// <summary>The peer closed its side first (FIN): EMQX's <c>tcp_closed</c>.</summary>
    public const string TcpClosed = "tcp_closed";

    /// <summary>The peer reset the connection.</summary>
    public const string ConnectionReset = "econnreset";

    /// <summary>The connection was aborted by the network stack.</summary>
    public const string ConnectionAborted = "econnaborted";

    /// <summary>The connection timed out in the network stack (retransmissions or keep-alive probes gave up).</summary>
    public const string TimedOut = "etimedout";

    /// <summary>A write after the peer had gone (EPIPE).</summary>
    public const string BrokenPipe = "epipe";

    /// <summary>Any other socket error.</summary>
    public const string SocketError = "sock_error";

    /// <summary>The connection did not drain its output within the close timeout and was aborted.</summary>
    public const string SendTimeout = "send_timeout";

    /// <summary>
    /// Accepted while <c>max_conns</c> connections were open, and closed at once: esockd's <c>{error, maxlimit}</c>
    /// from <c>esockd_connection_sup:start_connection</c>.
    /// </summary>
    public const string MaxLimit = "maxlimit";

    /// <summary>An administrator kicked the client.</summary>
    public const string Kicked = "kicked";

    /// <summary>A new connection with clean start took the client id over and discarded the session.</summary>
    public const string Discarded = "discarded";

    /// <summary>A new connection with the same client id took the session over.</summary>
    public const string TakenOver = "takeovered";

    /// <summary>The TLS handshake failed or the TLS layer reported an error: esockd's <c>ssl_error</c>.</summary>
    public const string SslError = "ssl_error";

    /// <summary>The TLS or WebSocket handshake did not complete within its timeout.</summary>
    public const string HandshakeTimeout = "handshake_timeout";

    /// <summary>The WebSocket upgrade request was refused (malformed, wrong path, no supported subprotocol).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>A WebSocket text frame (MQTT travels in binary frames): EMQX's <c>unexpected_ws_frame</c>.</summary>
    public const string UnexpectedWebSocketFrame = "unexpected_ws_frame";

    /// <summary>A WebSocket frame that breaks RFC 6455 (unmasked, bad opcode, bad close code): EMQX's <c>frame_error</c>.</summary>
    public const string FrameError = "frame_error";
}
