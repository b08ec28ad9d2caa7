using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Http.Json;

namespace Broker.Http.Auth;

/// <summary>The outcome of <see cref="AppStore.Add"/>.</summary>
public enum AddAppResult
{
    Added,
    AlreadyExists,
    InvalidAppId,
}

/// <summary>
/// The AppID/AppSecret pairs of the API (EMQX's <c>emqx_mgmt_auth</c>), persisted in a JSON file that is replaced
/// atomically on every change (written beside, flushed to disk, renamed over), so an app created with code 0
/// survives a crash. Checking a secret costs one PBKDF2 run the first time; afterwards a salted SHA-256 of the
/// accepted secret is kept in memory only, so each request does not pay the key stretching.
/// </summary>
public sealed class AppStore
{
    private const int MaxAppIdLength = 128;
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private readonly Lock _lock = new();
    private readonly string? _filePath;
    private readonly IAppPersistence? _persistence;
    private readonly int _iterations;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.Ordinal);
    private Dictionary<string, ApiApp> _apps = new(StringComparer.Ordinal);

    /// <param name="filePath">The JSON file; null keeps apps in memory only (tests, embedding).</param>
    /// <param name="iterations">PBKDF2 iterations for new secrets.</param>
    /// <param name="timeProvider">For <c>expired</c>.</param>
    public AppStore(string? filePath = null, int iterations = SecretHasher.DefaultIterations, TimeProvider? timeProvider = null)
    {
        _filePath = filePath;
        _iterations = iterations;
        _timeProvider = timeProvider ?? TimeProvider.System;
        if (filePath is not null && File.Exists(filePath))
        {
            Load(filePath);
        }
    }

    /// <param name="persistence">Where every change is written (durably, before it is visible); <paramref name="apps"/> are the ones it holds.</param>
    /// <param name="apps">The apps to start with.</param>
    /// <param name="iterations">PBKDF2 iterations for new secrets.</param>
    /// <param name="timeProvider">For <c>expired</c>.</param>
    public AppStore(IAppPersistence persistence, IEnumerable<ApiApp> apps, int iterations = SecretHasher.DefaultIterations, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(persistence);
        ArgumentNullException.ThrowIfNull(apps);
        _persistence = persistence;
        _iterations = iterations;
        _timeProvider = timeProvider ?? TimeProvider.System;
        foreach (ApiApp app in apps)
        {
            _apps[app.AppId] = app;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _apps.Count;
            }
        }
    }

    /// <summary>
    /// EMQX's <c>add_default_app</c>: adds the app from configuration unless an app with that id exists (so a secret
    /// changed through the API is kept); like EMQX, a deleted default app comes back at the next start.
    /// </summary>
    public void EnsureDefault(string appId, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(appId);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Add(appId, "Default", secret, "Application user", status: true, expired: null, out _);
    }

    /// <summary>Every app, by id.</summary>
    public IReadOnlyList<ApiApp> List()
    {
        lock (_lock)
        {
            var apps = new List<ApiApp>(_apps.Values);
            apps.Sort(static (a, b) => string.CompareOrdinal(a.AppId, b.AppId));
            return apps;
        }
    }

    public ApiApp? Find(string appId)
    {
        lock (_lock)
        {
            return _apps.GetValueOrDefault(appId);
        }
    }

    /// <summary>Adds an app; a null or empty secret gets a random one. <paramref name="secret"/> is the one to show, once.</summary>
    public AddAppResult Add(string appId, string? name, string? secret, string? description, bool status, long? expired, out string secretOut)
    {
        secretOut = string.Empty;
        if (!IsSaneId(appId))
        {
            return AddAppResult.InvalidAppId;
        }

        if (Find(appId) is not null)
        {
            return AddAppResult.AlreadyExists;
        }

        string plain = string.IsNullOrEmpty(secret) ? RandomNumberGenerator.GetString(Base62, 32) : secret;
        string hash = SecretHasher.Hash(plain, _iterations);
        lock (_lock)
        {
            if (_apps.ContainsKey(appId))
            {
                return AddAppResult.AlreadyExists;
            }

            var next = new Dictionary<string, ApiApp>(_apps, StringComparer.Ordinal)
            {
                [appId] = new ApiApp
                {
                    AppId = appId,
                    Name = name ?? string.Empty,
                    Description = description ?? string.Empty,
                    Status = status,
                    Expired = expired,
                    SecretHash = hash,
                },
            };
            Commit(next);
        }

        secretOut = plain;
        return AddAppResult.Added;
    }

    /// <summary>Changes name, description, status or expiry (null leaves a field as is); false for an unknown id.</summary>
    public bool Update(string appId, string? name, string? description, bool? status, long? expired, bool clearExpired = false)
    {
        lock (_lock)
        {
            if (!_apps.TryGetValue(appId, out ApiApp? app))
            {
                return false;
            }

            var next = new Dictionary<string, ApiApp>(_apps, StringComparer.Ordinal)
            {
                [appId] = app with
                {
                    Name = name ?? app.Name,
                    Description = description ?? app.Description,
                    Status = status ?? app.Status,
                    Expired = clearExpired ? null : expired ?? app.Expired,
                },
            };
            Commit(next);
        }

        return true;
    }

    public bool Delete(string appId)
    {
        lock (_lock)
        {
            if (!_apps.ContainsKey(appId))
            {
                return false;
            }

            var next = new Dictionary<string, ApiApp>(_apps, StringComparer.Ordinal);
            next.Remove(appId);
            Commit(next);
        }

        _verified.TryRemove(appId, out _);
        return true;
    }

    /// <summary>EMQX's <c>is_authorized</c>: enabled, not expired, and the secret matches.</summary>
    public bool Authenticate(string appId, string secret)
    {
        ArgumentNullException.ThrowIfNull(appId);
        ArgumentNullException.ThrowIfNull(secret);
        ApiApp? app = Find(appId);
        if (app is null || !app.Status || (app.Expired is { } expired && expired < _timeProvider.GetUtcNow().ToUnixTimeSeconds()))
        {
            return false;
        }

        byte[] salt = SecretHasher.GetSalt(app.SecretHash);
        byte[] quick = QuickHash(salt, secret);
        if (_verified.TryGetValue(appId, out byte[]? known) && CryptographicOperations.FixedTimeEquals(known, quick))
        {
            return true;
        }

        if (!SecretHasher.Verify(secret, app.SecretHash))
        {
            return false;
        }

        // Only while the stored hash is the one just verified (an update may have raced).
        if (ReferenceEquals(Find(appId), app))
        {
            _verified[appId] = quick;
        }

        return true;
    }

    /// <summary>Checks an <c>Authorization: Basic base64(id:secret)</c> header.</summary>
    public bool AuthenticateBasic(string? authorization)
    {
        const string Prefix = "Basic ";
        if (authorization is null || !authorization.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[Prefix.Length..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        int colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && Authenticate(decoded[..colon], decoded[(colon + 1)..]);
    }

    /// <summary>EMQX's <c>emqx_misc:is_sane_id</c>, roughly: 1 to 128 of letters, digits and <c>_-.:@</c>.</summary>
    public static bool IsSaneId(string? appId)
    {
        if (string.IsNullOrEmpty(appId) || appId.Length > MaxAppIdLength)
        {
            return false;
        }

        foreach (char c in appId)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or ':' or '@'))
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] QuickHash(byte[] salt, string secret)
    {
        byte[] input = new byte[salt.Length + Encoding.UTF8.GetByteCount(secret)];
        salt.CopyTo(input, 0);
        Encoding.UTF8.GetBytes(secret, input.AsSpan(salt.Length));
        return SHA256.HashData(input);
    }

    // Called under _lock: the file is written before the new table is published, so what a response reports is on disk.
    private void Commit(Dictionary<string, ApiApp> next)
    {
        if (_persistence is not null)
        {
            var all = new List<ApiApp>(next.Values);
            all.Sort(static (a, b) => string.CompareOrdinal(a.AppId, b.AppId));
            _persistence.SaveApps(all);
        }
        else if (_filePath is not null)
        {
            var apps = new List<ApiApp>(next.Values);
            apps.Sort(static (a, b) => string.CompareOrdinal(a.AppId, b.AppId));
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(new AppFile { Apps = apps }, HttpJsonContext.Default.AppFile);
            AtomicFile.Write(_filePath, json);
        }

        foreach (string id in _apps.Keys)
        {
            if (!next.TryGetValue(id, out ApiApp? app) || !ReferenceEquals(app, _apps[id]))
            {
                _verified.TryRemove(id, out _);
            }
        }

        _apps = next;
    }

    private void Load(string filePath)
    {
        AppFile? file = JsonSerializer.Deserialize(File.ReadAllBytes(filePath), HttpJsonContext.Default.AppFile);
        var apps = new Dictionary<string, ApiApp>(StringComparer.Ordinal);
        foreach (ApiApp app in file?.Apps ?? [])
        {
            apps[app.AppId] = app;
        }

        _apps = apps;
    }
}

/// <summary>The apps file: <c>{"apps":[…]}</c>.</summary>
public sealed class AppFile
{
    public List<ApiApp> Apps { get; init; } = [];
}

/// <summary>Replaces a file so that a crash leaves either the old or the new content, never a torn one.</summary>
internal static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>Where an <see cref="AppStore"/> keeps its apps (the server's database).</summary>
public interface IAppPersistence
{
    /// <summary>Replaces every stored app; returns once the change is durable.</summary>
    public void SaveApps(IReadOnlyList<ApiApp> apps);
}
