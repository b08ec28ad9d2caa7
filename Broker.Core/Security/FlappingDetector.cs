using System.Collections.Concurrent;
using Broker.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Broker.Core.Security;

/// <summary>
/// EMQX's <c>emqx_flapping</c>: a client id that disconnects <see cref="FlappingPolicy.MaxCount"/> times within
/// <see cref="FlappingPolicy.Window"/> is added to the <see cref="BannedList"/> for <see cref="FlappingPolicy.BanTime"/>
/// (by <c>flapping detector</c>, reason <c>flapping is detected</c>), so its next CONNECT gets the banned code.
/// Only disconnects are tracked, never the publish path. Memory is bounded: a record lives at most one window
/// (swept by housekeeping), and at most <see cref="MaxTracked"/> client ids are tracked at once.
/// </summary>
public sealed class FlappingDetector
{
    /// <summary>The <c>by</c> of a flapping ban, as EMQX writes it.</summary>
    public const string BannedBy = "flapping detector";

    /// <summary>The <c>reason</c> of a flapping ban, as EMQX writes it.</summary>
    public const string BannedReason = "flapping is detected";

    /// <summary>Client ids tracked at once; disconnects of further new ids are not counted until records expire.</summary>
    public const int MaxTracked = 100_000;

    private readonly ConcurrentDictionary<string, Record> _records = new(StringComparer.Ordinal);
    private readonly BannedList _banned;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FlappingPolicy? _policy;
    private int _count;
    private long _nextSweep;

    internal FlappingDetector(BannedList banned, TimeProvider time, ILogger logger, FlappingPolicy? policy)
    {
        _banned = banned;
        _time = time;
        _logger = logger;
        _policy = policy;
    }

    /// <summary>The policy in force, or null when detection is off (<c>enable_flapping_detect = off</c>).</summary>
    public FlappingPolicy? Policy => _policy;

    /// <summary>Client ids currently tracked.</summary>
    public int TrackedCount => Volatile.Read(ref _count);

    /// <summary>Counts one disconnect of a connected client; true when it was the one that got the client id banned.</summary>
    internal bool OnDisconnected(string clientId, string? peerHost)
    {
        if (_policy is not { } policy)
        {
            return false;
        }

        long now = _time.GetTimestamp();
        long window = (long)(policy.Window.TotalSeconds * _time.TimestampFrequency);
        if (!_records.TryGetValue(clientId, out Record? record))
        {
            if (Volatile.Read(ref _count) >= MaxTracked)
            {
                return false;
            }

            record = new Record(now);
            if (_records.TryAdd(clientId, record))
            {
                Interlocked.Increment(ref _count);
                if (policy.MaxCount > 1)
                {
                    return false;
                }
            }
            else if (!_records.TryGetValue(clientId, out record))
            {
                return false;
            }
        }

        bool flapping;
        lock (record)
        {
            if (now - record.StartedAt >= window)
            {
                // A new window starts with this disconnect (emqx_flapping resets the record the same way).
                record.StartedAt = now;
                record.Count = 1;
            }
            else
            {
                record.Count++;
            }

            flapping = record.Count >= policy.MaxCount;
            if (flapping)
            {
                record.Count = 0;
                record.StartedAt = now;
            }
        }

        if (!flapping)
        {
            return false;
        }

        if (_records.TryRemove(new KeyValuePair<string, Record>(clientId, record)))
        {
            Interlocked.Decrement(ref _count);
        }

        _banned.Add(BanKind.ClientId, clientId, BannedReason, BannedBy, policy.BanTime);
        BrokerLog.FlappingDetected(_logger, clientId, peerHost ?? "undefined", policy.MaxCount, (long)policy.Window.TotalMilliseconds);
        return true;
    }

    /// <summary>Drops records whose window has passed (housekeeping, at most once a window, as emqx_flapping's expiry timer).</summary>
    internal void Sweep()
    {
        if (Volatile.Read(ref _count) == 0 || _policy is not { } policy)
        {
            return;
        }

        long now = _time.GetTimestamp();
        if (now < Volatile.Read(ref _nextSweep))
        {
            return;
        }

        long window = (long)(policy.Window.TotalSeconds * _time.TimestampFrequency);
        Volatile.Write(ref _nextSweep, now + Math.Max(window / 2, _time.TimestampFrequency));
        foreach (KeyValuePair<string, Record> pair in _records)
        {
            if (now - Volatile.Read(ref pair.Value.StartedAt) >= window && _records.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    private sealed class Record(long startedAt)
    {
        public long StartedAt = startedAt;
        public int Count = 1;
    }
}

/// <summary>EMQX's <c>flapping_detect_policy</c> (<c>30, 1m, 5m</c>): disconnects, within what window, banned how long.</summary>
/// <param name="MaxCount">Disconnects within <paramref name="Window"/> that make a client id flapping.</param>
/// <param name="Window">The detection window.</param>
/// <param name="BanTime">How long a flapping client id is banned.</param>
public sealed record FlappingPolicy(int MaxCount, TimeSpan Window, TimeSpan BanTime);
