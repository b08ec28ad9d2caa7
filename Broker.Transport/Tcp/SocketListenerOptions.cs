using System.Net;

namespace Broker.Transport.Tcp;

/// <summary>
/// Options of one TCP listener. Defaults are EMQX 4.4's <c>listener.tcp.external.*</c> unless the comment says otherwise.
/// Setters check their values, so a bad configuration fails before anything binds.
/// </summary>
public sealed class SocketListenerOptions
{
    /// <summary>The EMQX default MQTT/TCP port.</summary>
    public const int DefaultPort = 1883;

    private IPEndPoint _endPoint = new(IPAddress.Any, DefaultPort);
    private int _acceptors = DefaultAcceptors;
    private int _maxConnections = 1_024_000;
    private int _backlog = 1024;
    private int _maxWriteBufferSize = 256 * 1024;
    private TimeSpan _closeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Concurrent accept loops when not configured: one per core up to 4. EMQX's external listener uses 8 Erlang
    /// acceptor processes; an accept loop here is an outstanding <c>AcceptAsync</c>, and a few cover any connect rate.
    /// </summary>
    public static int DefaultAcceptors => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>The address and port to bind, <c>0.0.0.0:1883</c>. Port 0 binds an ephemeral port (see <see cref="Connections.ConnectionListener.EndPoint"/>).</summary>
    public IPEndPoint EndPoint
    {
        get => _endPoint;
        set => _endPoint = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary><c>acceptors</c>: accept loops on the listening socket. Default <see cref="DefaultAcceptors"/>.</summary>
    public int Acceptors
    {
        get => _acceptors;
        set => _acceptors = CheckRange(value, 1, 1024);
    }

    /// <summary><c>max_connections</c> (reported as <c>max_conns</c>), 1,024,000: connections above it are accepted and closed at once.</summary>
    public int MaxConnections
    {
        get => _maxConnections;
        set => _maxConnections = CheckRange(value, 1, int.MaxValue);
    }

    /// <summary><c>backlog</c>, 1024: the kernel's queue of connections not yet accepted.</summary>
    public int Backlog
    {
        get => _backlog;
        set => _backlog = CheckRange(value, 1, 65535);
    }

    /// <summary>
    /// Bytes flushed by the broker but not yet taken by the kernel before its flush waits (until half of it is sent),
    /// 256 KB (Kestrel uses 64 KB for HTTP; an MQTT fan-out writes many small packets per flush). 0 means no limit.
    /// Not an EMQX option. There is no read-side counterpart: the transport receives only when the broker reads.
    /// </summary>
    public int MaxWriteBufferSize
    {
        get => _maxWriteBufferSize;
        set => _maxWriteBufferSize = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary>
    /// After the handler returns, how long the remaining output may take to reach the peer before the socket is
    /// aborted, 5 s. Bounds the life of a connection whose peer stopped reading. Not an EMQX option.
    /// </summary>
    public TimeSpan CloseTimeout
    {
        get => _closeTimeout;
        set => _closeTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>
    /// Whether an idle connection waits for data with a zero-byte receive before taking a buffer from the pool, true
    /// (Kestrel's WaitForDataBeforeAllocatingBuffer). Saves a pool block per idle connection for one extra syscall per read.
    /// </summary>
    public bool WaitForDataBeforeAllocatingBuffer { get; set; } = true;

    /// <summary>
    /// Whether the broker's reads continue on the thread that completed the socket receive even when that is the
    /// epoll thread, false (Kestrel's <c>UnsafePreferInlineScheduling</c>). It matters only with the process-wide
    /// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>: then a received PUBLISH is decoded, routed and sent to its
    /// subscribers on the epoll thread that saw it, one event loop per core, as mosquitto and Redis do. Without it,
    /// socket completions already run on the thread pool and reads continue there. Safe for the broker, whose
    /// connection code never blocks; an embedder whose own handler blocks must leave it off.
    /// </summary>
    public bool PreferInlineScheduling { get; set; }

    private static int CheckRange(int value, int min, int max, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
        => value >= min && value <= max ? value : throw new ArgumentOutOfRangeException(name, value, $"Must be between {min} and {max}.");
}
