using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Http.Auth;
using Broker.Http.Json;

namespace Broker.Http.Channel;

/// <summary>Which of the two proxies a target is registered for.</summary>
public enum ChannelTargetKind
{
    /// <summary>A broker cluster's management API, proxied at <c>/api/emqxee/dashboard/{clusterId}/...</c>.</summary>
    Cluster,

    /// <summary>Any HTTP API, proxied at <c>/api/edgeservice/proxy/{edgeServiceId}/...</c>.</summary>
    EdgeService,
}

/// <summary>
/// A proxied upstream: its id, base URL and the credentials the channel sends to it (Basic). The credentials must
/// be kept recoverable to be sent, so they are stored as given; they are never returned by a route.
/// </summary>
public sealed record ChannelTarget
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Absolute http or https base URL, without credentials, query or fragment.</summary>
    [JsonPropertyName("url")]
    public required string Url { get; init; }

    [JsonPropertyName("username")]
    public string? Username { get; init; }

    [JsonPropertyName("password")]
    public string? Password { get; init; }

    /// <summary>Defined by configuration: not written to the channel file (the config brings it back at each start).</summary>
    [JsonIgnore]
    public bool FromConfig { get; init; }
}

/// <summary>A channel user: may log in at <c>/api/login</c>. The password is kept only as a salted PBKDF2 hash.</summary>
public sealed record ChannelUser
{
    [JsonPropertyName("username")]
    public required string Username { get; init; }

    [JsonPropertyName("password_hash")]
    public required string PasswordHash { get; init; }

    [JsonIgnore]
    public bool FromConfig { get; init; }
}

/// <summary>The channel file and the export/import form: <c>{"users":[…],"clusters":[…],"edge_services":[…]}</c>.</summary>
public sealed class ChannelFile
{
    public List<ChannelUser> Users { get; init; } = [];

    public List<ChannelTarget> Clusters { get; init; } = [];

    public List<ChannelTarget> EdgeServices { get; init; } = [];
}

/// <summary>
/// The cloud-edge channel's users, broker clusters and edge services. Entries from configuration live in memory
/// only; entries created through the routes are written to a JSON file, replaced atomically on every change (as
/// <see cref="AppStore"/> does), so what a route answered with code 0 survives a crash. <see cref="Changed"/>,
/// <see cref="Export"/> and <see cref="Import"/> let another store (a database) take over persistence.
/// The id <c>local</c> is reserved for this broker itself.
/// </summary>
public sealed class ChannelRegistry
{
    /// <summary>The cluster id that means this broker, served in-process.</summary>
    public const string LocalClusterId = "local";

    private readonly Lock _lock = new();
    private readonly string? _filePath;
    private readonly int _iterations;
    private Dictionary<string, ChannelUser> _users = new(StringComparer.Ordinal);
    private Dictionary<string, ChannelTarget> _clusters = new(StringComparer.Ordinal);
    private Dictionary<string, ChannelTarget> _services = new(StringComparer.Ordinal);

    /// <param name="filePath">The JSON file for route-created entries; null keeps them in memory only.</param>
    /// <param name="iterations">PBKDF2 iterations for new passwords.</param>
    public ChannelRegistry(string? filePath = null, int iterations = SecretHasher.DefaultIterations)
    {
        _filePath = filePath;
        _iterations = iterations;
        if (filePath is not null && File.Exists(filePath))
        {
            ChannelFile? file = JsonSerializer.Deserialize(File.ReadAllBytes(filePath), HttpJsonContext.Default.ChannelFile);
            if (file is not null)
            {
                Load(file, fromConfig: false);
            }
        }
    }

    /// <summary>Raised after every change made through <see cref="AddUser"/>, <see cref="AddTarget"/>, the deletes or <see cref="Import"/>.</summary>
    public event Action? Changed;

    /// <summary>Checks a target; null when it is acceptable, else the reason (for the 400 answer or the startup error).</summary>
    public static string? Validate(ChannelTargetKind kind, ChannelTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!AppStore.IsSaneId(target.Id))
        {
            return "id must be 1 to 128 letters, digits or _-.:@";
        }

        if (kind == ChannelTargetKind.Cluster && target.Id == LocalClusterId)
        {
            return "the cluster id 'local' is reserved for this broker";
        }

        if (!Uri.TryCreate(target.Url, UriKind.Absolute, out Uri? url) || url.Scheme is not ("http" or "https"))
        {
            return "url must be an absolute http:// or https:// URL";
        }

        if (url.UserInfo.Length > 0 || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            return "url must have no credentials, query or fragment (give credentials as username and password)";
        }

        return target.Password is not null && target.Username is null ? "a password needs a username" : null;
    }

    public IReadOnlyList<ChannelUser> ListUsers()
    {
        lock (_lock)
        {
            return Sorted(_users.Values, static u => u.Username);
        }
    }

    public bool UserExists(string username)
    {
        lock (_lock)
        {
            return _users.ContainsKey(username);
        }
    }

    /// <summary>Adds a user; false when the name is taken or not a sane id.</summary>
    public bool AddUser(string username, string password, bool fromConfig = false)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (!AppStore.IsSaneId(username) || UserExists(username))
        {
            return false;
        }

        var user = new ChannelUser { Username = username, PasswordHash = SecretHasher.Hash(password, _iterations), FromConfig = fromConfig };
        lock (_lock)
        {
            if (_users.ContainsKey(username))
            {
                return false;
            }

            var next = new Dictionary<string, ChannelUser>(_users, StringComparer.Ordinal) { [username] = user };
            Commit(next, _clusters, _services, persist: !fromConfig);
        }

        if (!fromConfig)
        {
            Changed?.Invoke();
        }

        return true;
    }

    public bool DeleteUser(string username)
    {
        lock (_lock)
        {
            if (!_users.ContainsKey(username))
            {
                return false;
            }

            var next = new Dictionary<string, ChannelUser>(_users, StringComparer.Ordinal);
            next.Remove(username);
            Commit(next, _clusters, _services, persist: true);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>Checks a user's password (one PBKDF2 run: logins are rare, requests carry tokens).</summary>
    public bool VerifyUser(string username, string password)
    {
        ChannelUser? user;
        lock (_lock)
        {
            user = _users.GetValueOrDefault(username);
        }

        return user is not null && SecretHasher.Verify(password, user.PasswordHash);
    }

    public IReadOnlyList<ChannelTarget> ListTargets(ChannelTargetKind kind)
    {
        lock (_lock)
        {
            return Sorted(Targets(kind).Values, static t => t.Id);
        }
    }

    public ChannelTarget? FindTarget(ChannelTargetKind kind, string id)
    {
        lock (_lock)
        {
            return Targets(kind).GetValueOrDefault(id);
        }
    }

    /// <summary>Adds a target; null on success, else the reason (invalid, or <c>already exists</c>).</summary>
    public string? AddTarget(ChannelTargetKind kind, ChannelTarget target)
    {
        if (Validate(kind, target) is { } invalid)
        {
            return invalid;
        }

        lock (_lock)
        {
            Dictionary<string, ChannelTarget> current = Targets(kind);
            if (current.ContainsKey(target.Id))
            {
                return "already exists";
            }

            var next = new Dictionary<string, ChannelTarget>(current, StringComparer.Ordinal) { [target.Id] = target };
            Commit(_users, kind == ChannelTargetKind.Cluster ? next : _clusters, kind == ChannelTargetKind.EdgeService ? next : _services, persist: !target.FromConfig);
        }

        if (!target.FromConfig)
        {
            Changed?.Invoke();
        }

        return null;
    }

    /// <summary>Removes a target; one from configuration comes back at the next start.</summary>
    public bool DeleteTarget(ChannelTargetKind kind, string id)
    {
        lock (_lock)
        {
            Dictionary<string, ChannelTarget> current = Targets(kind);
            if (!current.ContainsKey(id))
            {
                return false;
            }

            var next = new Dictionary<string, ChannelTarget>(current, StringComparer.Ordinal);
            next.Remove(id);
            Commit(_users, kind == ChannelTargetKind.Cluster ? next : _clusters, kind == ChannelTargetKind.EdgeService ? next : _services, persist: true);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>The JSON form of <paramref name="file"/>, for a store that keeps it.</summary>
    public static byte[] WriteFile(ChannelFile file) => JsonSerializer.SerializeToUtf8Bytes(file, HttpJsonContext.Default.ChannelFile);

    /// <summary>Reads what <see cref="WriteFile"/> wrote; null for JSON null.</summary>
    public static ChannelFile? ReadFile(byte[] json) => JsonSerializer.Deserialize(json, HttpJsonContext.Default.ChannelFile);

    /// <summary>The route-created entries (not those from configuration), for another store to save.</summary>
    public ChannelFile Export()
    {
        lock (_lock)
        {
            return ToFile(_users, _clusters, _services);
        }
    }

    /// <summary>Adds or replaces the given entries (a database's content at start, or a restore).</summary>
    public void Import(ChannelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        lock (_lock)
        {
            Load(file, fromConfig: false);
            Commit(_users, _clusters, _services, persist: true);
        }

        Changed?.Invoke();
    }

    // Under _lock (or in the constructor).
    private void Load(ChannelFile file, bool fromConfig)
    {
        var users = new Dictionary<string, ChannelUser>(_users, StringComparer.Ordinal);
        foreach (ChannelUser user in file.Users)
        {
            users[user.Username] = user with { FromConfig = fromConfig };
        }

        var clusters = new Dictionary<string, ChannelTarget>(_clusters, StringComparer.Ordinal);
        foreach (ChannelTarget target in file.Clusters)
        {
            if (Validate(ChannelTargetKind.Cluster, target) is null)
            {
                clusters[target.Id] = target with { FromConfig = fromConfig };
            }
        }

        var services = new Dictionary<string, ChannelTarget>(_services, StringComparer.Ordinal);
        foreach (ChannelTarget target in file.EdgeServices)
        {
            if (Validate(ChannelTargetKind.EdgeService, target) is null)
            {
                services[target.Id] = target with { FromConfig = fromConfig };
            }
        }

        _users = users;
        _clusters = clusters;
        _services = services;
    }

    private Dictionary<string, ChannelTarget> Targets(ChannelTargetKind kind) => kind == ChannelTargetKind.Cluster ? _clusters : _services;

    // Under _lock: the file is written before the new tables are published, so what a response reports is on disk.
    private void Commit(Dictionary<string, ChannelUser> users, Dictionary<string, ChannelTarget> clusters, Dictionary<string, ChannelTarget> services, bool persist)
    {
        if (persist && _filePath is not null)
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(ToFile(users, clusters, services), HttpJsonContext.Default.ChannelFile);
            AtomicFile.Write(_filePath, json);
        }

        _users = users;
        _clusters = clusters;
        _services = services;
    }

    private static ChannelFile ToFile(Dictionary<string, ChannelUser> users, Dictionary<string, ChannelTarget> clusters, Dictionary<string, ChannelTarget> services)
    {
        var file = new ChannelFile();
        foreach (ChannelUser user in Sorted(users.Values, static u => u.Username))
        {
            if (!user.FromConfig)
            {
                file.Users.Add(user);
            }
        }

        foreach (ChannelTarget target in Sorted(clusters.Values, static t => t.Id))
        {
            if (!target.FromConfig)
            {
                file.Clusters.Add(target);
            }
        }

        foreach (ChannelTarget target in Sorted(services.Values, static t => t.Id))
        {
            if (!target.FromConfig)
            {
                file.EdgeServices.Add(target);
            }
        }

        return file;
    }

    private static List<T> Sorted<T>(IEnumerable<T> items, Func<T, string> key)
    {
        var list = new List<T>(items);
        list.Sort((a, b) => string.CompareOrdinal(key(a), key(b)));
        return list;
    }
}
