using System.Net;
using Broker.Core.Configuration;
using Broker.Http.Hosting;
using Broker.Transport.Tcp;
using Broker.Transport.Tls;
using Broker.Transport.WebSockets;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Everything the standalone broker is configured with: the broker core's <see cref="BrokerOptions"/>, the MQTT/TCP
/// listener's <see cref="SocketListenerOptions"/>, and what only the process needs (data directory, logging, shutdown).
/// Setters check their values, like the options they wrap.
/// </summary>
internal sealed class ServerOptions
{
    private string _dataDirectory = "./data";
    private TimeSpan _shutdownTimeout = TimeSpan.FromSeconds(10);
    private int _eventLoopSliceMicroseconds = 100;

    /// <summary>Broker behaviour and limits (EMQX zone defaults).</summary>
    public BrokerOptions Broker { get; } = new();

    /// <summary>
    /// The MQTT/TCP listener, 0.0.0.0:1883. Its reads run on the socket's event-loop thread (<c>--inline-io true</c>):
    /// one wake per read instead of two, measured in <c>Broker.Bench/results/README.md</c>.
    /// </summary>
    public SocketListenerOptions MqttTcp { get; } = new() { PreferInlineScheduling = true };

    /// <summary>The address the MQTT listener binds, 0.0.0.0 (every IPv4 interface); <c>::</c> binds IPv4 and IPv6.</summary>
    public IPAddress Bind
    {
        get => MqttTcp.EndPoint.Address;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            foreach (SocketListenerOptions listener in (ReadOnlySpan<SocketListenerOptions>)[MqttTcp, MqttSsl, MqttWs, MqttWss])
            {
                listener.EndPoint = new IPEndPoint(value, listener.EndPoint.Port);
            }
        }
    }

    /// <summary>The MQTT/TCP port, 1883; 0 binds a free port (the startup line says which).</summary>
    public int MqttPort
    {
        get => MqttTcp.EndPoint.Port;
        set => SetPort(MqttTcp, value);
    }

    /// <summary>The MQTT/SSL listener (EMQX's <c>listener.ssl.external</c>), 8883, max_conns 102,400.</summary>
    public SocketListenerOptions MqttSsl { get; } = new() { EndPoint = new IPEndPoint(IPAddress.Any, 8883), MaxConnections = 102_400 };

    /// <summary>The MQTT/WebSocket listener (<c>listener.ws.external</c>), 8083, max_conns 102,400.</summary>
    public SocketListenerOptions MqttWs { get; } = new() { EndPoint = new IPEndPoint(IPAddress.Any, 8083), MaxConnections = 102_400 };

    /// <summary>
    /// The MQTT/WebSocket-over-TLS listener (<c>listener.wss.external</c>), 8084, max_conns 102,400 (EMQX ships 16, a
    /// sample value that would surprise a production broker).
    /// </summary>
    public SocketListenerOptions MqttWss { get; } = new() { EndPoint = new IPEndPoint(IPAddress.Any, 8084), MaxConnections = 102_400 };

    /// <summary>The certificate and client-certificate policy of the SSL and WSS listeners (one certificate for both).</summary>
    public TlsListenerOptions Tls { get; } = new();

    /// <summary>Path, subprotocols and handshake limits of the WS and WSS listeners.</summary>
    public WebSocketListenerOptions WebSocket { get; } = new();

    /// <summary>Whether the MQTT/SSL listener runs: null (auto) when a certificate file is configured.</summary>
    public bool? SslEnabled { get; set; }

    /// <summary>Whether the MQTT/WebSocket listener runs, true (the zero-configuration broker serves WebSocket on 8083).</summary>
    public bool WsEnabled { get; set; } = true;

    /// <summary>Whether the MQTT/WSS listener runs: null (auto) when a certificate file is configured.</summary>
    public bool? WssEnabled { get; set; }

    /// <summary>Whether the SSL listener starts: on when asked, or on auto when a certificate is configured.</summary>
    public bool SslActive => SslEnabled ?? !string.IsNullOrWhiteSpace(Tls.CertificateFile);

    /// <summary>Whether the WSS listener starts: on when asked, or on auto when a certificate is configured.</summary>
    public bool WssActive => WssEnabled ?? !string.IsNullOrWhiteSpace(Tls.CertificateFile);

    /// <summary>The MQTT/SSL port, 8883.</summary>
    public int SslPort
    {
        get => MqttSsl.EndPoint.Port;
        set => SetPort(MqttSsl, value);
    }

    /// <summary>The MQTT/WebSocket port, 8083.</summary>
    public int WsPort
    {
        get => MqttWs.EndPoint.Port;
        set => SetPort(MqttWs, value);
    }

    /// <summary>The MQTT/WSS port, 8084.</summary>
    public int WssPort
    {
        get => MqttWss.EndPoint.Port;
        set => SetPort(MqttWss, value);
    }

    /// <summary>
    /// Whether retained messages and persistent sessions are written to the database (true). Off, they live in memory
    /// only (what is stored is still restored); API state (apps, users, ACL, bans) is stored either way.
    /// </summary>
    public bool PersistMessages { get; set; } = true;

    /// <summary>
    /// Whether start-up runs two clients through a private broker before the listeners open (true), so that the first
    /// real clients do not wait for the JIT (<see cref="Hosting.JitWarmup"/>). Costs about 0.2 s of start-up.
    /// </summary>
    public bool JitWarmup { get; set; } = true;

    /// <summary>
    /// Linux 6.12 and later: the scheduling slice, in microseconds, requested for the socket event-loop threads, 100;
    /// 0 leaves the kernel's default (<see cref="Hosting.EventLoopSlice"/>).
    /// </summary>
    public int EventLoopSliceMicroseconds
    {
        get => _eventLoopSliceMicroseconds;
        set => _eventLoopSliceMicroseconds = value is 0 or (>= 100 and <= 100_000)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be 0 or between 100 and 100000.");
    }

    /// <summary>Where the broker keeps what must survive a restart, <c>./data</c> (relative to the working directory); created at start.</summary>
    public string DataDirectory
    {
        get => _dataDirectory;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _dataDirectory = value;
        }
    }

    /// <summary>Users loaded into the user database at start (<c>--user</c>, config key <c>user</c>).</summary>
    public List<Configuration.UserSpec> Users { get; } = [];

    /// <summary>ACL rules loaded at start, in order (<c>--acl</c>, config key <c>acl</c>).</summary>
    public List<Configuration.AclRuleSpec> AclRules { get; } = [];

    /// <summary>Bans loaded at start (<c>--ban</c>, config key <c>ban</c>).</summary>
    public List<Configuration.BanSpec> Bans { get; } = [];

    /// <summary>Whether the management API (HTTP) is served, true.</summary>
    public bool ApiEnabled { get; set; } = true;

    /// <summary>The management API's HTTP listener: 0.0.0.0:8081 (EMQX's <c>management.listener.http</c>).</summary>
    public HttpListenerHostOptions Api { get; } = new();

    /// <summary>Whether the plain HTTP host serves the API, true; false with <see cref="ApiHttps"/> enabled serves HTTPS only.</summary>
    public bool ApiHttp { get; set; } = true;

    /// <summary>The management API's HTTPS host on Kestrel: off, 0.0.0.0:8443 when enabled.</summary>
    public Hosting.KestrelHostOptions ApiHttps { get; } = new();

    /// <summary>Whether the cloud-edge channel (<c>/api/login</c>, the cluster and edge-service proxies) is served, false.</summary>
    public bool ChannelEnabled { get; set; }

    /// <summary>The channel's token lifetimes, upstream timeout and local body limit.</summary>
    public Broker.Http.Channel.ChannelOptions Channel { get; } = new();

    /// <summary>Channel users from configuration (<c>--channel-user NAME:PASSWORD</c>).</summary>
    public List<(string Username, string Password)> ChannelUsers { get; } = [];

    /// <summary>Clusters from configuration (<c>--channel-cluster ID,URL[,APPID,SECRET]</c>).</summary>
    public List<Broker.Http.Channel.ChannelTarget> ChannelClusters { get; } = [];

    /// <summary>Edge services from configuration (<c>--channel-edge-service ID,URL[,USERNAME,PASSWORD]</c>).</summary>
    public List<Broker.Http.Channel.ChannelTarget> ChannelEdgeServices { get; } = [];

    /// <summary>Whether the default app is created at start, true; also off when its id or secret is set empty.</summary>
    public bool ApiDefaultApp { get; set; } = true;

    /// <summary>
    /// The AppID of the default app created at start unless it exists, <c>admin</c> (EMQX's
    /// <c>management.default_application.id</c>); empty for none.
    /// </summary>
    public string ApiDefaultAppId { get; set; } = "admin";

    /// <summary>The default app's AppSecret, <c>public</c>; empty for no default app.</summary>
    public string ApiDefaultAppSecret { get; set; } = "public";

    /// <summary>The least severe level logged to the console, information (EMQX logs warnings; the startup line is information).</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>How long a shutdown waits for clients to be disconnected before their sockets are aborted, 10 s.</summary>
    public TimeSpan ShutdownTimeout
    {
        get => _shutdownTimeout;
        set => _shutdownTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    private static void SetPort(SocketListenerOptions listener, int port, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(port))] string? name = null)
        => listener.EndPoint = new IPEndPoint(
            listener.EndPoint.Address,
            port is >= IPEndPoint.MinPort and <= IPEndPoint.MaxPort ? port : throw new ArgumentOutOfRangeException(name, port, "Must be between 0 and 65535."));
}
