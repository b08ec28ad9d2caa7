using System.Collections.Concurrent;

namespace Broker.Core.Sessions;

/// <summary>
/// Client id to session. Lookups are lock-free (<see cref="ConcurrentDictionary{TKey, TValue}"/>); CONNECT,
/// takeover and expiry of one client id are serialised by a striped lock so two connections with the same
/// id cannot both win.
/// </summary>
public sealed class SessionTable
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Lock[] _stripes;
    private int _count;

    public SessionTable()
    {
        _stripes = new Lock[64];
        for (int i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Lock();
        }
    }

    /// <summary>
    /// Kept beside the dictionary: <see cref="ConcurrentDictionary{TKey, TValue}.Count"/> takes every one of its locks
    /// (hundreds once it has grown), and every CONNECT and session end reads the count for the stats.
    /// </summary>
    public int Count => Volatile.Read(ref _count);

    public Session? Find(string clientId) => _sessions.TryGetValue(clientId, out Session? session) ? session : null;

    /// <summary>A moment's view of every session, for the management API and housekeeping.</summary>
    public ICollection<Session> Snapshot() => _sessions.Values;

    /// <summary>
    /// Every session, walked without a lock or a copy, in the table's own order: the same order from one call to the
    /// next while no session comes or goes (what paging through the management API relies on, as EMQX's ETS walks).
    /// </summary>
    public IEnumerable<Session> Enumerate()
    {
        foreach (KeyValuePair<string, Session> pair in _sessions)
        {
            yield return pair.Value;
        }
    }

    /// <summary>The lock that serialises CONNECT, takeover and removal for <paramref name="clientId"/>.</summary>
    internal Lock GetLock(string clientId) => _stripes[(uint)StringComparer.Ordinal.GetHashCode(clientId) % (uint)_stripes.Length];

    /// <summary>Registers <paramref name="session"/> under its client id; callers hold <see cref="GetLock"/> for it.</summary>
    internal void Set(Session session)
    {
        if (_sessions.TryAdd(session.ClientId, session))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _sessions[session.ClientId] = session;
        }
    }

    /// <summary>Removes <paramref name="session"/> only if it is still the one registered for its client id.</summary>
    internal bool Remove(Session session)
    {
        if (!((ICollection<KeyValuePair<string, Session>>)_sessions).Remove(new KeyValuePair<string, Session>(session.ClientId, session)))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>Every session, enumerated without a copy (housekeeping walks them all each second).</summary>
    internal IEnumerable<KeyValuePair<string, Session>> Entries => _sessions;
}
