using System.Numerics;

namespace Broker.Bench.Load;

/// <summary>
/// A log-linear histogram of nanoseconds (HdrHistogram's layout, 64 sub-buckets per power of two: under 1.6 % error).
/// One writer per instance (a subscriber's receive loop); the report merges them after the run.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 64;
    private const int Linear = 2 * SubBuckets;        // values below 128 ns get their own bucket
    private const int Buckets = SubBuckets * 64;

    private readonly long[] _counts = new long[Buckets];

    public long Count { get; private set; }

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        _counts[IndexOf(nanoseconds)]++;
        Count++;
    }

    public void Add(LatencyHistogram other)
    {
        for (int i = 0; i < Buckets; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>The value at <paramref name="quantile"/> (0..1) in nanoseconds, or NaN when empty.</summary>
    public double ValueAt(double quantile)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(quantile * Count));
        long seen = 0;
        for (int i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return MidpointOf(i);
            }
        }

        return MidpointOf(Buckets - 1);
    }

    private static int IndexOf(long value)
    {
        if (value < Linear)
        {
            return (int)value;
        }

        int shift = 63 - BitOperations.LeadingZeroCount((ulong)value) - 6;
        int index = (shift * SubBuckets) + (int)(value >> shift);
        return Math.Min(index, Buckets - 1);
    }

    private static double MidpointOf(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        int shift = (index / SubBuckets) - 1;
        long sub = index - (shift * SubBuckets);
        return (sub << shift) + ((1L << shift) / 2.0);
    }
}
