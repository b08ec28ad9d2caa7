using System.Net;
using Broker.Core.Configuration;
using Broker.Http.Hosting;
using Broker.Transport.Tcp;
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

    /// <summary>Broker behaviour and limits (EMQX zone defaults).</summary>
    public BrokerOptions Broker { get; } = new();

    /// <summary>The MQTT/TCP listener, 0.0.0.0:1883.</summary>
    public SocketListenerOptions MqttTcp { get; } = new();

    /// <summary>The address the MQTT listener binds, 0.0.0.0 (every IPv4 interface); <c>::</c> binds IPv4 and IPv6.</summary>
    public IPAddress Bind
    {
        get => MqttTcp.EndPoint.Address;
        set => MqttTcp.EndPoint = new IPEndPoint(value ?? throw new ArgumentNullException(nameof(value)), MqttTcp.EndPoint.Port);
    }

    /// <summary>The MQTT/TCP port, 1883; 0 binds a free port (the startup line says which).</summary>
    public int MqttPort
    {
        get => MqttTcp.EndPoint.Port;
        set => MqttTcp.EndPoint = new IPEndPoint(
            MqttTcp.EndPoint.Address,
            value is >= IPEndPoint.MinPort and <= IPEndPoint.MaxPort ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be between 0 and 65535."));
    }

    /// <summary>
    /// Whether retained messages and persistent sessions are written to the database (true). Off, they live in memory
    /// only (what is stored is still restored); API state (apps, users, ACL, bans) is stored either way.
    /// </summary>
    public bool PersistMessages { get; set; } = true;

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
}
