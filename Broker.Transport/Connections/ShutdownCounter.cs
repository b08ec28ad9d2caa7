using System.Collections.Concurrent;

namespace Broker.Transport.Connections;

/// <summary>
/// Counts connection closes by reason (a listener's EMQX <c>shutdown_count</c>). Recorded once per connection,
/// so a concurrent dictionary is cheap enough; reads take a snapshot.
/// </summary>
public sealed class ShutdownCounter
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    /// <summary>Counts one close for <paramref name="reason"/> (for example <see cref="ShutdownReasons.Kicked"/>).</summary>
    public void Record(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        _counts.AddOrUpdate(reason, 1, static (_, count) => count + 1);
    }

    /// <summary>The count for one reason; 0 when never recorded.</summary>
    public long this[string reason] => _counts.TryGetValue(reason, out long count) ? count : 0;

    /// <summary>The sum over all reasons.</summary>
    public long Total
    {
        get
        {
            long total = 0;
            foreach (KeyValuePair<string, long> entry in _counts)
            {
                total += entry.Value;
            }

            return total;
        }
    }

    /// <summary>A copy of the counts, reasons in ordinal order; only reasons counted at least once appear (as EMQX reports them).</summary>
    public IReadOnlyDictionary<string, long> Snapshot()
    {
        var snapshot = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, long> entry in _counts)
        {
            snapshot.Add(entry.Key, entry.Value);
        }

        return snapshot;
    }
}
