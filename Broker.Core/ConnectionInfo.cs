using System.Net;

namespace Broker.Core;

/// <summary>What the transport knows about a connection before the first byte: addresses and the listener it came through.</summary>
public sealed class ConnectionInfo
{
    /// <summary>The peer's address, if the transport has one (TCP does; an in-memory pipe does not).</summary>
    public EndPoint? RemoteEndPoint { get; init; }

    /// <summary>The local address the connection was accepted on.</summary>
    public EndPoint? LocalEndPoint { get; init; }

    /// <summary>The listener's name in EMQX's form, for example <c>mqtt:tcp:0.0.0.0:1883</c>.</summary>
    public string ListenerName { get; init; } = "mqtt:internal";

    /// <summary>The listener's protocol, for example <c>mqtt:tcp</c>, <c>mqtt:ssl</c>, <c>mqtt:ws</c>.</summary>
    public string ListenerProtocol { get; init; } = "mqtt:internal";

    /// <summary>
    /// The username the transport vouches for, from the client certificate (EMQX's <c>peer_cert_as_username</c>): when
    /// set it replaces the CONNECT packet's User Name for the banned list, authentication, ACL and the API. Null: the
    /// CONNECT packet's own.
    /// </summary>
    public string? PeerCertUserName { get; init; }

    /// <summary>
    /// Set by the broker when it ends the connection for a reason the transport cannot see (EMQX's <c>kicked</c>): the
    /// reason a listener counts in its <c>shutdown_count</c> instead of its own. Null: the transport decides.
    /// </summary>
    public string? ShutdownReason
    {
        get => Volatile.Read(ref _shutdownReason);
        set => Volatile.Write(ref _shutdownReason, value);
    }

    private string? _shutdownReason;
}
