namespace Broker.Core.Snapshots;

/// <summary>One session, connected or not, as the management API lists it (EMQX's v3 <c>/sessions</c> fields).</summary>
public sealed record SessionSnapshot
{
    public required string ClientId { get; init; }

    public bool Connected { get; init; }

    public bool CleanStart { get; init; }

    /// <summary>Seconds the session outlives its connection; <see cref="uint.MaxValue"/> is never.</summary>
    public long ExpiryInterval { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public int SubscriptionCount { get; init; }

    public int MaxSubscriptions { get; init; }

    public int Inflight { get; init; }

    public int MaxInflight { get; init; }

    public int QueueLength { get; init; }

    public int MaxQueue { get; init; }

    public long QueueDropped { get; init; }

    public int AwaitingRel { get; init; }

    public int MaxAwaitingRel { get; init; }
}
