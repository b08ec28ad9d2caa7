using System.Collections.Concurrent;

namespace Broker.Core.Security;

/// <summary>What a ban matches (EMQX's <c>as</c>: <c>clientid</c>, <c>username</c>, <c>peerhost</c>).</summary>
public enum BanKind
{
    /// <summary>The CONNECT client id.</summary>
    ClientId,
    /// <summary>The CONNECT username.</summary>
    Username,
    /// <summary>The peer's IP address.</summary>
    PeerHost,
}

/// <summary>One ban (EMQX's <c>banned</c> record).</summary>
/// <param name="As">What <paramref name="Who"/> is.</param>
/// <param name="Who">The client id, username or IP address.</param>
/// <param name="Reason">Why.</param>
/// <param name="By">Who banned (<c>user</c> by default, as EMQX).</param>
/// <param name="At">Unix seconds when the ban started.</param>
/// <param name="Until">Unix seconds when it ends.</param>
/// <param name="Desc">The v3 <c>desc</c> field.</param>
public sealed record BanEntry(BanKind As, string Who, string Reason, string By, long At, long Until, string? Desc = null);

/// <summary>
/// The banned list (EMQX's <c>emqx_banned</c>): a client whose client id, username or peer address is banned gets
/// CONNACK 0x8A Banned (3.1.1: 0x05 Not authorized) until the ban's <see cref="BanEntry.Until"/>. Expired entries no
/// longer match and are purged by the housekeeping sweep. Reads are lock-free.
/// </summary>
public sealed class BannedList
{
    /// <summary>EMQX's default ban length when <c>until</c> is not given: 300 s (<c>emqx_mgmt_api_banned.erl</c>).</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(300);

    private readonly ConcurrentDictionary<(BanKind, string), BanEntry> _entries = new();
    private readonly TimeProvider _time;

    // ConcurrentDictionary.Count takes every bucket lock; CONNECT reads this instead.
    private int _count;

    internal BannedList(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>Raised after every change (purges included), on the thread that made it (persistence hooks here).</summary>
    public event Action? Changed;

    /// <summary>Entries stored, expired ones included until the next purge.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds or replaces the ban of <paramref name="entry"/>'s (as, who).</summary>
    public void Add(BanEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrEmpty(entry.Who);
        Put(entry);
        Changed?.Invoke();
    }

    /// <summary>Puts back a ban saved from <see cref="List"/>; does not raise <see cref="Changed"/>.</summary>
    public void Restore(BanEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrEmpty(entry.Who);
        Put(entry);
    }

    private void Put(BanEntry entry)
    {
        bool added = false;
        _entries.AddOrUpdate((entry.As, Normalize(entry.As, entry.Who)), (_, e) => { added = true; return e; }, (_, _, e) => { added = false; return e; }, entry);
        if (added)
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Bans <paramref name="who"/> for <paramref name="duration"/> (default 300 s) from now.</summary>
    public BanEntry Add(BanKind kind, string who, string reason = "", string by = "user", TimeSpan? duration = null)
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        var entry = new BanEntry(kind, who, reason, by, now, now + (long)(duration ?? DefaultDuration).TotalSeconds);
        Add(entry);
        return entry;
    }

    /// <summary>Lifts a ban; false if there was none.</summary>
    public bool Remove(BanKind kind, string who)
    {
        ArgumentNullException.ThrowIfNull(who);
        if (!_entries.TryRemove((kind, Normalize(kind, who)), out _))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        Changed?.Invoke();
        return true;
    }

    /// <summary>One ban, or null (expired ones included until purged).</summary>
    public BanEntry? Find(BanKind kind, string who)
        => _entries.TryGetValue((kind, Normalize(kind, who)), out BanEntry? entry) ? entry : null;

    /// <summary>Every ban still in force, oldest first.</summary>
    public IReadOnlyList<BanEntry> List()
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        var list = new List<BanEntry>(_entries.Count);
        foreach (BanEntry entry in _entries.Values)
        {
            if (entry.Until > now)
            {
                list.Add(entry);
            }
        }

        list.Sort(static (a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Who, b.Who));
        return list;
    }

    /// <summary>Removes every ban.</summary>
    public void Clear()
    {
        _entries.Clear();
        Volatile.Write(ref _count, 0);
        Changed?.Invoke();
    }

    /// <summary>Whether a CONNECT with these identities is banned now.</summary>
    public bool IsBanned(string clientId, string? userName, string? peerHost)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return false;
        }

        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        return InForce(BanKind.ClientId, clientId, now)
            || (userName is not null && InForce(BanKind.Username, userName, now))
            || (peerHost is not null && InForce(BanKind.PeerHost, peerHost, now));
    }

    /// <summary>Removes expired bans (EMQX's <c>emqx_banned</c> expiry timer); returns how many.</summary>
    internal int Purge()
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return 0;
        }

        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        int purged = 0;
        foreach (KeyValuePair<(BanKind, string), BanEntry> pair in _entries)
        {
            if (pair.Value.Until <= now && _entries.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
                purged++;
            }
        }

        if (purged > 0)
        {
            Changed?.Invoke();
        }

        return purged;
    }

    private bool InForce(BanKind kind, string who, long now)
        => _entries.TryGetValue((kind, who), out BanEntry? entry) && entry.Until > now;

    /// <summary>Addresses are compared in canonical form ("::ffff:10.0.0.1" is "10.0.0.1").</summary>
    private static string Normalize(BanKind kind, string who)
    {
        if (kind == BanKind.PeerHost && System.Net.IPAddress.TryParse(who, out System.Net.IPAddress? address))
        {
            return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
        }

        return who;
    }
}
