namespace Broker.Core.Security;

/// <summary>One cached ACL answer, as <c>GET /clients/{id}/acl_cache</c> shows it.</summary>
/// <param name="Action">Publish or subscribe.</param>
/// <param name="Topic">The topic name or filter checked.</param>
/// <param name="Access">The answer.</param>
/// <param name="UpdatedTime">Unix milliseconds when it was cached.</param>
public sealed record AclCacheEntry(AclAction Action, string Topic, AclAccess Access, long UpdatedTime);

/// <summary>
/// One client's ACL cache (EMQX's <c>enable_acl_cache</c>, <c>acl_cache_max_size</c>, <c>acl_cache_ttl</c>). Only the
/// connection's read loop adds; the management API lists and clears from any thread. The entries are an immutable
/// array swapped by CAS, so a lookup is a lock-free scan that allocates nothing. An entry is used while it is younger
/// than the TTL and was computed under the current <see cref="AclDatabase.Generation"/>; the oldest is evicted when full.
/// </summary>
public sealed class AclCache
{
    private Entry[] _entries = [];

    /// <summary>Entries currently held, stale ones included until they are replaced.</summary>
    public int Count => Volatile.Read(ref _entries).Length;

    internal bool TryGet(AclAction action, ReadOnlySpan<byte> topic, int hash, int generation, long now, out bool allowed)
    {
        foreach (Entry entry in Volatile.Read(ref _entries))
        {
            if (entry.Hash == hash && entry.Action == action && entry.Topic.AsSpan().SequenceEqual(topic))
            {
                if (entry.Generation == generation && now < entry.ExpiresAt)
                {
                    allowed = entry.Allowed;
                    return true;
                }

                break;
            }
        }

        allowed = false;
        return false;
    }

    internal void Add(AclAction action, ReadOnlySpan<byte> topic, int hash, bool allowed, int generation, long now, long expiresAt, long updatedTime, int maxSize)
    {
        var added = new Entry(action, topic.ToArray(), hash, allowed, generation, expiresAt, updatedTime);
        var spinWait = default(SpinWait);
        while (true)
        {
            Entry[] current = Volatile.Read(ref _entries);
            var next = new List<Entry>(Math.Min(current.Length + 1, maxSize));
            foreach (Entry entry in current)
            {
                // Drop what this answer replaces and what can no longer be used.
                bool same = entry.Hash == hash && entry.Action == action && entry.Topic.AsSpan().SequenceEqual(topic);
                if (!same && entry.Generation == generation && now < entry.ExpiresAt)
                {
                    next.Add(entry);
                }
            }

            // Oldest first in the array: evict from the front (EMQX evicts the oldest entry).
            int overflow = next.Count + 1 - maxSize;
            if (overflow > 0)
            {
                next.RemoveRange(0, overflow);
            }

            next.Add(added);
            if (Interlocked.CompareExchange(ref _entries, [.. next], current) == current)
            {
                return;
            }

            spinWait.SpinOnce();
        }
    }

    /// <summary>Forgets every answer (<c>DELETE /clients/{id}/acl_cache</c>).</summary>
    public void Clear() => Volatile.Write(ref _entries, []);

    /// <summary>The entries, oldest first.</summary>
    public IReadOnlyList<AclCacheEntry> Snapshot()
    {
        Entry[] entries = Volatile.Read(ref _entries);
        var list = new AclCacheEntry[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            Entry e = entries[i];
            list[i] = new AclCacheEntry(e.Action, System.Text.Encoding.UTF8.GetString(e.Topic), e.Allowed ? AclAccess.Allow : AclAccess.Deny, e.UpdatedTime);
        }

        return list;
    }

    internal static int HashTopic(ReadOnlySpan<byte> topic)
    {
        var hash = default(HashCode);
        hash.AddBytes(topic);
        return hash.ToHashCode();
    }

    private sealed record Entry(AclAction Action, byte[] Topic, int Hash, bool Allowed, int Generation, long ExpiresAt, long UpdatedTime);
}
