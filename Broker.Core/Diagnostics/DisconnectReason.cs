namespace Broker.Core.Diagnostics;

/// <summary>Why a connection ended (Kestrel's ConnectionEndReason idea): one value per close path, counted and logged.</summary>
public enum DisconnectReason
{
    /// <summary>Still open, or not yet known.</summary>
    None = 0,
    /// <summary>The client sent DISCONNECT (v5 reason 0x00 or v3).</summary>
    ClientDisconnect,
    /// <summary>The client sent v5 DISCONNECT 0x04: publish the will.</summary>
    ClientDisconnectWithWill,
    /// <summary>The transport closed without DISCONNECT.</summary>
    TransportClosed,
    /// <summary>The transport failed (reset, I/O error).</summary>
    TransportError,
    /// <summary>No packet within 1.5x the keep alive [MQTT-3.1.2-24].</summary>
    KeepAliveTimeout,
    /// <summary>The first packet did not arrive in time.</summary>
    ConnectTimeout,
    /// <summary>The packet broke the wire format.</summary>
    MalformedPacket,
    /// <summary>The packet broke a protocol rule.</summary>
    ProtocolError,
    /// <summary>A second CONNECT with the same client id took the session over.</summary>
    TakenOver,
    /// <summary>The CONNECT was refused (auth, bad client id, unsupported version...).</summary>
    ConnectRefused,
    /// <summary>Kicked by an administrator.</summary>
    Kicked,
    /// <summary>The broker is shutting down.</summary>
    ServerShutdown,
    /// <summary>Output could not keep up and the per-connection limit was hit.</summary>
    SlowConsumer,
    /// <summary>A PUBLISH or SUBSCRIBE was denied by the ACL with <c>acl_deny_action = disconnect</c>.</summary>
    NotAuthorized,
}
