namespace Broker.Core.Diagnostics;

/// <summary>
/// Connections ended, by <see cref="DisconnectReason"/>: how an operator sees malformed input, protocol errors and
/// keep-alive timeouts. EMQX's metrics table has no such counters, so they are kept beside it rather than in
/// <see cref="Metrics.BrokerCounters"/>. A close is rare next to a publish, so one interlocked slot per reason is enough.
/// </summary>
public sealed class DisconnectCounts
{
    private readonly long[] _counts = new long[Enum.GetValues<DisconnectReason>().Length];

    /// <summary>Connections that ended for <paramref name="reason"/> since the broker started.</summary>
    public long Get(DisconnectReason reason) => Volatile.Read(ref _counts[(int)reason]);

    /// <summary>Every reason with a non-zero count.</summary>
    public IReadOnlyDictionary<DisconnectReason, long> Snapshot()
    {
        var snapshot = new Dictionary<DisconnectReason, long>();
        foreach (DisconnectReason reason in Enum.GetValues<DisconnectReason>())
        {
            if (Get(reason) is var count and > 0)
            {
                snapshot[reason] = count;
            }
        }

        return snapshot;
    }

    internal void Increment(DisconnectReason reason) => Interlocked.Increment(ref _counts[(int)reason]);
}
