using System.Collections.Concurrent;
using System.Text;
using Broker.Core.Configuration;

namespace Broker.Core.Security;

/// <summary>Which CONNECT field a user record is keyed by (EMQX's <c>{clientid, Id} | {username, Name}</c> login).</summary>
public enum UserKind
{
    /// <summary>The CONNECT username (<c>/auth_username</c>, and the pre-4.3 <c>/auth_user</c> login).</summary>
    Username,
    /// <summary>The CONNECT client id (<c>/auth_clientid</c>).</summary>
    ClientId,
}

/// <summary>A user record as stored, for persistence: the salted hash, never the password.</summary>
/// <param name="Kind">Username or client id record.</param>
/// <param name="Login">The username or client id.</param>
/// <param name="PasswordHash">Salt followed by the hex digest (<see cref="PasswordHasher"/>).</param>
/// <param name="Algorithm">The hash it was made with.</param>
/// <param name="IsSuperuser">Superusers skip the ACL.</param>
/// <param name="CreatedAt">Unix milliseconds.</param>
public sealed record StoredUser(UserKind Kind, string Login, byte[] PasswordHash, PasswordHashAlgorithm Algorithm, bool IsSuperuser, long CreatedAt);

/// <summary>What the management API may see of a user: never the password, only its stored digest for <c>/auth_user</c>.</summary>
/// <param name="Kind">Username or client id record.</param>
/// <param name="Login">The username or client id.</param>
/// <param name="IsSuperuser">Superusers skip the ACL.</param>
/// <param name="CreatedAt">Unix milliseconds of creation (EMQX's <c>created_at</c>).</param>
/// <param name="PasswordDigest">The stored hex digest, without salt.</param>
public sealed record UserSnapshot(UserKind Kind, string Login, bool IsSuperuser, long CreatedAt, string PasswordDigest);

/// <summary>The outcome of checking a CONNECT against the user database.</summary>
public enum AuthenticationResult
{
    /// <summary>No record for the client id or username: the next source, then <c>allow_anonymous</c>, decides.</summary>
    Ignore,
    /// <summary>A record matched and the password is right.</summary>
    Success,
    /// <summary>A record exists and no record's password matches.</summary>
    BadPassword,
}

/// <summary>
/// The built-in user database (EMQX 4.4's <c>emqx_auth_mnesia</c>): records by username and by client id, passwords
/// salted and hashed (<see cref="PasswordHasher"/>). A CONNECT succeeds if the client id record or the username
/// record accepts its password; with neither present the database has no opinion.
/// Reads are lock-free (<see cref="ConcurrentDictionary{TKey, TValue}"/>); records are immutable and replaced whole.
/// </summary>
public sealed class UserDatabase
{
    private readonly ConcurrentDictionary<string, UserRecord> _byUsername = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UserRecord> _byClientId = new(StringComparer.Ordinal);
    private readonly BrokerOptions _options;
    private readonly TimeProvider _time;

    // ConcurrentDictionary.Count takes every bucket lock; CONNECT reads this instead.
    private int _count;

    internal UserDatabase(BrokerOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    /// <summary>Raised after every change, on the thread that made it (persistence hooks here).</summary>
    public event Action? Changed;

    /// <summary>Records of both kinds.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds a user; false (nothing changed) if one with this login exists (EMQX's <c>existed</c>).</summary>
    public bool TryAdd(UserKind kind, string login, string password, bool isSuperuser = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(login);
        ArgumentNullException.ThrowIfNull(password);
        bool added = Table(kind).TryAdd(login, NewRecord(password, isSuperuser, _time.GetUtcNow().ToUnixTimeMilliseconds()));
        if (added)
        {
            Interlocked.Increment(ref _count);
        }

        return Notify(added);
    }

    /// <summary>Changes a user's password (and superuser flag when given); false if there is no such user (EMQX's <c>noexisted</c>).</summary>
    public bool TryUpdate(UserKind kind, string login, string password, bool? isSuperuser = null)
    {
        ArgumentNullException.ThrowIfNull(login);
        ArgumentNullException.ThrowIfNull(password);
        ConcurrentDictionary<string, UserRecord> table = Table(kind);
        while (table.TryGetValue(login, out UserRecord? existing))
        {
            UserRecord replacement = NewRecord(password, isSuperuser ?? existing.IsSuperuser, existing.CreatedAt);
            if (table.TryUpdate(login, replacement, existing))
            {
                return Notify(true);
            }
        }

        return false;
    }

    /// <summary>Adds or replaces a user (bootstrap from configuration).</summary>
    public void Set(UserKind kind, string login, string password, bool isSuperuser = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(login);
        ArgumentNullException.ThrowIfNull(password);
        Put(kind, login, NewRecord(password, isSuperuser, _time.GetUtcNow().ToUnixTimeMilliseconds()));
        Notify(true);
    }

    /// <summary>Removes a user; false if there was none.</summary>
    public bool Remove(UserKind kind, string login)
    {
        ArgumentNullException.ThrowIfNull(login);
        bool removed = Table(kind).TryRemove(login, out _);
        if (removed)
        {
            Interlocked.Decrement(ref _count);
        }

        return Notify(removed);
    }

    /// <summary>One user, or null.</summary>
    public UserSnapshot? Find(UserKind kind, string login)
    {
        ArgumentNullException.ThrowIfNull(login);
        return Table(kind).TryGetValue(login, out UserRecord? record) ? record.ToSnapshot(kind, login) : null;
    }

    /// <summary>Every user of one kind, newest first (the order EMQX's <c>/auth_username</c> list uses).</summary>
    public IReadOnlyList<UserSnapshot> List(UserKind kind)
    {
        var list = new List<UserSnapshot>();
        foreach (KeyValuePair<string, UserRecord> pair in Table(kind))
        {
            list.Add(pair.Value.ToSnapshot(kind, pair.Key));
        }

        list.Sort(static (a, b) => b.CreatedAt != a.CreatedAt ? b.CreatedAt.CompareTo(a.CreatedAt) : string.CompareOrdinal(a.Login, b.Login));
        return list;
    }

    /// <summary>Removes every user.</summary>
    public void Clear()
    {
        _byUsername.Clear();
        _byClientId.Clear();
        Volatile.Write(ref _count, 0);
        Notify(true);
    }

    /// <summary>Every record as stored (hashes, not passwords), for persistence.</summary>
    public IReadOnlyList<StoredUser> Export()
    {
        var list = new List<StoredUser>(Count);
        foreach (UserKind kind in (ReadOnlySpan<UserKind>)[UserKind.Username, UserKind.ClientId])
        {
            foreach (KeyValuePair<string, UserRecord> pair in Table(kind))
            {
                UserRecord r = pair.Value;
                list.Add(new StoredUser(kind, pair.Key, r.Password, r.Algorithm, r.IsSuperuser, r.CreatedAt));
            }
        }

        return list;
    }

    /// <summary>Puts back a record saved by <see cref="Export"/>, replacing one of the same login; does not raise <see cref="Changed"/>.</summary>
    public void Restore(StoredUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentException.ThrowIfNullOrEmpty(user.Login);
        Put(user.Kind, user.Login, new UserRecord(user.PasswordHash, user.Algorithm, user.IsSuperuser, user.CreatedAt));
    }

    private void Put(UserKind kind, string login, UserRecord record)
    {
        bool added = false;
        Table(kind).AddOrUpdate(login, (_, r) => { added = true; return r; }, (_, _, r) => { added = false; return r; }, record);
        if (added)
        {
            Interlocked.Increment(ref _count);
        }
    }

    private bool Notify(bool changed)
    {
        if (changed)
        {
            Changed?.Invoke();
        }

        return changed;
    }

    /// <summary>
    /// <c>emqx_auth_mnesia:check/3</c>: the client id record and the username record are both candidates (each only
    /// while its kind is enabled); any one accepting the password wins.
    /// </summary>
    internal AuthenticationResult Check(string clientId, string? userName, byte[]? password, out bool isSuperuser)
    {
        isSuperuser = false;
        UserRecord? byClientId = null;
        UserRecord? byUsername = null;
        if (Volatile.Read(ref _count) == 0)
        {
            return AuthenticationResult.Ignore;
        }

        if (_options.AuthClientIdEnabled)
        {
            _byClientId.TryGetValue(clientId, out byClientId);
        }

        if (_options.AuthUsernameEnabled && userName is not null)
        {
            _byUsername.TryGetValue(userName, out byUsername);
        }

        if (byClientId is null && byUsername is null)
        {
            return AuthenticationResult.Ignore;
        }

        ReadOnlySpan<byte> given = password ?? [];
        foreach (UserRecord? record in (ReadOnlySpan<UserRecord?>)[byClientId, byUsername])
        {
            if (record is not null && PasswordHasher.Verify(given, record.Password, record.Algorithm))
            {
                isSuperuser = record.IsSuperuser;
                return AuthenticationResult.Success;
            }
        }

        return AuthenticationResult.BadPassword;
    }

    private ConcurrentDictionary<string, UserRecord> Table(UserKind kind) => kind switch
    {
        UserKind.Username => _byUsername,
        UserKind.ClientId => _byClientId,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private UserRecord NewRecord(string password, bool isSuperuser, long createdAt)
    {
        PasswordHashAlgorithm algorithm = _options.PasswordHash;
        return new UserRecord(PasswordHasher.Hash(Encoding.UTF8.GetBytes(password), algorithm), algorithm, isSuperuser, createdAt);
    }

    private sealed record UserRecord(byte[] Password, PasswordHashAlgorithm Algorithm, bool IsSuperuser, long CreatedAt)
    {
        public UserSnapshot ToSnapshot(UserKind kind, string login)
            => new(kind, login, IsSuperuser, CreatedAt, PasswordHasher.DigestText(Password, Algorithm));
    }
}
