using System.Numerics;
using System.Runtime.CompilerServices;

namespace Broker.Core.Metrics;

/// <summary>
/// The EMQX metrics counters (<see cref="CounterId"/>), kept in one partition per processor and summed on read, so that
/// counting on the packet path never contends across cores.
/// </summary>
/// <remarks>
/// <para>
/// Event counters are incremented in the partition of <see cref="Thread.GetCurrentProcessorId"/> (masked: ids beyond the
/// partition count, as in a CPU-limited container on a large host, share partitions but stay exact). The update is still
/// <see cref="Interlocked"/>: a thread can migrate between reading the id and writing, and two threads may share a
/// partition (the runtime's SharedArrayPool has the same reason). A locked add on a line the core already owns costs a
/// few nanoseconds and, unlike one shared field, does not get slower as cores are added (CounterContentionBench).
/// </para>
/// <para>
/// Gauges (<see cref="IsGauge"/>: <see cref="CounterId.MessagesRetained"/> and <see cref="CounterId.MessagesDelayed"/>)
/// describe current state, and a sum spread over cores cannot be overwritten atomically. They live in one extra shared partition:
/// <see cref="Set"/> writes the value there, and <see cref="Increment"/> / <see cref="Add"/> on a gauge adjust that same
/// cell atomically. They change when a retained or delayed message is stored or removed, rarely enough to share a line.
/// </para>
/// </remarks>
public sealed class BrokerCounters
{
    // Layout of _values, in longs:
    //   [lead pad: 16][partition 0: Count counters, pad][partition 1] ... [partition P-1][shared gauge partition]
    // A partition's stride is a multiple of 16 longs (128 bytes: a cache-line pair, since Intel's adjacent-line prefetcher
    // pulls lines in pairs) and leaves at least 16 longs of slack after its counters. The array's base is only 8- or
    // 16-byte aligned, so the slack is what guarantees that counters of two partitions are never in one line pair.
    // The lead pad keeps partition 0 off the line holding the array length, which every bounds check on every core reads.
    private const int LongsPerLinePair = 128 / sizeof(long);
    internal const int LeadPad = LongsPerLinePair;
    internal const int PartitionStride = (CounterNames.Count + (2 * LongsPerLinePair) - 1) / LongsPerLinePair * LongsPerLinePair;

    private readonly long[] _values;
    private readonly int _partitions;
    private readonly uint _mask;

    public BrokerCounters()
        : this(Environment.ProcessorCount)
    {
    }

    /// <param name="processors">Rounded up to a power of two, so that picking a partition is a mask, not a division
    /// (measured: 6.3 instead of 7.0 ns per uncontended increment in CounterContentionBench).</param>
    internal BrokerCounters(int processors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(processors, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(processors, 1 << 16);
        _partitions = (int)BitOperations.RoundUpToPowerOf2((uint)processors);
        _mask = (uint)_partitions - 1;
        _values = new long[LeadPad + ((_partitions + 1) * PartitionStride)];
    }

    /// <summary>The number of per-core partitions: <see cref="Environment.ProcessorCount"/> rounded up to a power of two.</summary>
    public int PartitionCount => _partitions;

    /// <summary>
    /// True for the counters that are gauges of current state (<c>messages.retained</c>, <c>messages.delayed</c>);
    /// only these accept <see cref="Set"/>.
    /// </summary>
    public static bool IsGauge(CounterId id) => id is CounterId.MessagesRetained or CounterId.MessagesDelayed;

    /// <summary>Adds one. Allocation-free; touches only the current core's partition (for event counters).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment(CounterId id) => Interlocked.Increment(ref Slot(id));

    /// <summary>Adds <paramref name="value"/> (which may be negative for gauges).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(CounterId id, long value) => Interlocked.Add(ref Slot(id), value);

    /// <summary>Sets a gauge (<see cref="IsGauge"/>) to the current state; throws for event counters.</summary>
    public void Set(CounterId id, long value)
    {
        if (!IsGauge(id))
        {
            MetricsThrow.NotAGauge(id);
        }

        Volatile.Write(ref _values[SharedIndex(id)], value);
    }

    /// <summary>The current value: the sum over all partitions.</summary>
    public long Get(CounterId id)
    {
        int index = LeadPad + CheckedIndex(id);
        long sum = 0;
        for (int p = 0; p <= _partitions; p++, index += PartitionStride)
        {
            sum += Volatile.Read(ref _values[index]);
        }

        return sum;
    }

    /// <summary>
    /// Writes every counter's value into <paramref name="values"/>, indexed by <see cref="CounterId"/>. Each value is
    /// exact for some instant during the call, but not the same instant for all: sums such as <c>messages.received</c>
    /// = QoS 0 + 1 + 2 received can be off by the updates made while copying.
    /// </summary>
    public void CopyTo(Span<long> values)
    {
        if (values.Length < CounterNames.Count)
        {
            MetricsThrow.DestinationTooShort(CounterNames.Count, nameof(values));
        }

        values = values[..CounterNames.Count];
        values.Clear();
        for (int p = 0; p <= _partitions; p++)
        {
            Span<long> partition = _values.AsSpan(LeadPad + (p * PartitionStride), CounterNames.Count);
            for (int i = 0; i < partition.Length; i++)
            {
                values[i] += Volatile.Read(ref partition[i]);
            }
        }
    }

    /// <summary>Name/value pairs for the management API, in <see cref="CounterId"/> order.</summary>
    /// <param name="v3Names">Use the v3 REST API's slash names (<see cref="CounterNames.GetV3Name"/>).</param>
    public IReadOnlyList<KeyValuePair<string, long>> Snapshot(bool v3Names = false)
    {
        Span<long> values = stackalloc long[CounterNames.Count];
        CopyTo(values);
        var result = new KeyValuePair<string, long>[CounterNames.Count];
        for (int i = 0; i < result.Length; i++)
        {
            CounterId id = (CounterId)i;
            result[i] = new(v3Names ? CounterNames.GetV3Name(id) : CounterNames.GetName(id), values[i]);
        }

        return result;
    }

    // With a constant id (the usual call) the range check and the gauge test fold away after inlining.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long Slot(CounterId id)
    {
        int partition = IsGauge(id)
            ? _partitions
            : (int)((uint)Thread.GetCurrentProcessorId() & _mask);
        return ref _values[LeadPad + (partition * PartitionStride) + CheckedIndex(id)];
    }

    private int SharedIndex(CounterId id) => LeadPad + (_partitions * PartitionStride) + CheckedIndex(id);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CheckedIndex(CounterId id)
    {
        if ((uint)id >= CounterNames.Count)
        {
            MetricsThrow.InvalidCounter(id);
        }

        return (int)id;
    }
}
