using System.Runtime.CompilerServices;

namespace Broker.Core.Metrics;

/// <summary>
/// The EMQX stats gauges (<see cref="StatId"/>): a current count and its high-water mark for each.
/// </summary>
/// <remarks>
/// These change on connect, disconnect and subscribe, not per packet, so each gauge is one shared cell updated with
/// <see cref="Interlocked"/>. Each gauge has its own 128-byte cell pair, so a burst of connects does not slow the
/// subscription gauges on other cores. The max is raised lock-free just after each increase and never lowered;
/// <see cref="GetMax"/> also takes the current count into account, so it is never below the count it reads.
/// </remarks>
public sealed class BrokerStats
{
    // [lead pad: 16 longs][stat 0: count, max, pad to 16 longs][stat 1] ... (see BrokerCounters for the 128-byte reason)
    private const int Stride = 128 / sizeof(long);
    private const int LeadPad = Stride;
    private const int MaxOffset = 1;

    private readonly long[] _cells = new long[LeadPad + (StatNames.Count * Stride)];

    /// <summary>Adds one and raises the max if needed.</summary>
    public void Increment(StatId id)
    {
        int index = CountIndex(id);
        long count = Interlocked.Increment(ref _cells[index]);
        RaiseMaxCas(ref _cells[index + MaxOffset], count);
    }

    /// <summary>Subtracts one. The max is unchanged.</summary>
    public void Decrement(StatId id) => Interlocked.Decrement(ref _cells[CountIndex(id)]);

    /// <summary>Adds <paramref name="delta"/> (negative to remove several at once, e.g. a session's subscriptions).</summary>
    public void Add(StatId id, long delta)
    {
        int index = CountIndex(id);
        long count = Interlocked.Add(ref _cells[index], delta);
        if (delta > 0)
        {
            RaiseMaxCas(ref _cells[index + MaxOffset], count);
        }
    }

    /// <summary>Sets the current count (for gauges recomputed from a table, e.g. <c>topics</c>) and raises the max.</summary>
    public void Set(StatId id, long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        int index = CountIndex(id);
        Volatile.Write(ref _cells[index], value);
        RaiseMaxCas(ref _cells[index + MaxOffset], value);
    }

    /// <summary>The current count.</summary>
    public long GetCount(StatId id) => Volatile.Read(ref _cells[CountIndex(id)]);

    /// <summary>The highest count seen since the broker started.</summary>
    public long GetMax(StatId id)
    {
        int index = CountIndex(id);
        // An Increment raises the max just after the count: include the count so max >= count holds for readers.
        return Math.Max(Volatile.Read(ref _cells[index + MaxOffset]), Volatile.Read(ref _cells[index]));
    }

    /// <summary>
    /// Key/value pairs for the management API: <c>connections.count</c>, <c>connections.max</c>, ... in
    /// <see cref="StatId"/> order.
    /// </summary>
    /// <param name="v3Names">Use the v3 REST API's slash names (<c>connections/count</c>).</param>
    public IReadOnlyList<KeyValuePair<string, long>> Snapshot(bool v3Names = false)
    {
        var result = new KeyValuePair<string, long>[2 * StatNames.Count];
        for (int i = 0; i < StatNames.Count; i++)
        {
            StatId id = (StatId)i;
            result[2 * i] = new(StatNames.GetCountName(id, v3Names), GetCount(id));
            result[(2 * i) + 1] = new(StatNames.GetMaxName(id, v3Names), GetMax(id));
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountIndex(StatId id) => LeadPad + (StatNames.Index(id) * Stride);

    // A failed CAS means another writer raised the max meanwhile; retry at once against its value. No backoff is needed:
    // each retry is caused by a concurrent raise, and the loop ends as soon as the max is at least our count.
    private static void RaiseMaxCas(ref long max, long value)
    {
        long current = Volatile.Read(ref max);
        while (value > current)
        {
            long seen = Interlocked.CompareExchange(ref max, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
