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

    /// <summary>When the session was created; earlier than <see cref="ConnectedAt"/> for a resumed session.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>"MQTT" or "MQIsdp".</summary>
    public required string ProtocolName { get; init; }

    /// <summary>3, 4 or 5.</summary>
    public byte ProtocolVersion { get; init; }

    public int KeepAlive { get; init; }

    public bool CleanStart { get; init; }

    /// <summary>Seconds the session outlives the connection.</summary>
    public long ExpiryInterval { get; init; }

    public int SubscriptionCount { get; init; }

    /// <summary>0 is no limit.</summary>
    public int MaxSubscriptions { get; init; }

    public int Inflight { get; init; }

    public int MaxInflight { get; init; }

    public int QueueLength { get; init; }

    public int MaxQueue { get; init; }

    public long QueueDropped { get; init; }

    public int AwaitingRel { get; init; }

    public int MaxAwaitingRel { get; init; }

    public long ReceivedBytes { get; init; }

    public long SentBytes { get; init; }

    public long ReceivedPackets { get; init; }

    public long SentPackets { get; init; }

    public long ReceivedMessages { get; init; }

    public long SentMessages { get; init; }
}
