namespace Broker.Core.Snapshots;

/// <summary>
/// One connected client as the management API lists it (EMQX's <c>/clients</c> fields). A copy taken at one moment:
/// counters keep moving after it is read.
/// </summary>
public sealed record ClientSnapshot
{
    public required string ClientId { get; init; }

    public string? UserName { get; init; }

    /// <summary>The peer's address without the port, or null for in-memory connections.</summary>
    public string? IpAddress { get; init; }

    public int Port { get; init; }

    /// <summary>The listener that accepted the connection (EMQX's zone / listener name).</summary>
    public required string Listener { get; init; }

    public bool Connected { get; init; }

    public DateTimeOffset ConnectedAt { get; init; }

    /// <summary>"MQTT" or "MQIsdp".</summary>
    public required string ProtocolName { get; init; }

    /// <summary>3, 4 or 5.</summary>
    public byte ProtocolVersion { get; init; }

    public int KeepAlive { get; init; }

    public bool CleanStart { get; init; }

    /// <summary>The session behind the connection: subscriptions, inflight window, queue, awaiting PUBREL.</summary>
    public required SessionSnapshot Session { get; init; }

    public long ReceivedBytes { get; init; }

    public long SentBytes { get; init; }

    public long ReceivedPackets { get; init; }

    public long SentPackets { get; init; }

    public long ReceivedMessages { get; init; }

    public long SentMessages { get; init; }
}
