using System.Net;
using System.Text.Json;
using Broker.Core.Configuration;
using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Security;

namespace Broker.Core;

public sealed partial class MqttBroker
{
    private long _nextAlarmCheck;

    /// <summary>The built-in user database (EMQX's <c>emqx_auth_mnesia</c>).</summary>
    public UserDatabase Users { get; private set; } = null!;

    /// <summary>The built-in ACL (EMQX's <c>emqx_acl_mnesia</c>).</summary>
    public AclDatabase Acl { get; private set; } = null!;

    /// <summary>The banned list.</summary>
    public BannedList Banned { get; private set; } = null!;

    /// <summary>Flapping detection (EMQX's <c>enable_flapping_detect</c>, off by default).</summary>
    public FlappingDetector Flapping { get; private set; } = null!;

    /// <summary>Switchable modules (EMQX's plugins).</summary>
    public BrokerModules Modules { get; private set; } = null!;

    /// <summary>Raised and cleared alarms.</summary>
    public AlarmManager Alarms { get; private set; } = null!;

    /// <summary>Options that may change while running (EMQX's hot configuration).</summary>
    public HotConfigs Configs { get; private set; } = null!;

    /// <summary>A connected client's cached ACL answers, oldest first; null when the client is not connected.</summary>
    public IReadOnlyList<AclCacheEntry>? GetAclCache(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (Sessions.Find(clientId)?.Connection is not { } connection)
        {
            return null;
        }

        return connection.AclCache?.Snapshot() ?? [];
    }

    /// <summary>Forgets a connected client's cached ACL answers; false when the client is not connected.</summary>
    public bool ClearAclCache(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (Sessions.Find(clientId)?.Connection is not { } connection)
        {
            return false;
        }

        connection.AclCache?.Clear();
        return true;
    }

    private void InitializeSecurity()
    {
        Users = new UserDatabase(Options, TimeProvider);
        Acl = new AclDatabase(TimeProvider);
        Banned = new BannedList(TimeProvider);
        Flapping = new FlappingDetector(Banned, TimeProvider, Logger, Options.EnableFlappingDetect ? Options.FlappingDetectPolicy : null);
        Modules = new BrokerModules(this);
        Alarms = new AlarmManager(this);
        Configs = new HotConfigs(this);
    }

    /// <summary>Whether a CONNECT is banned by its client id, username or peer address.</summary>
    internal bool IsBanned(string clientId, string? userName, ConnectionInfo info)
        => Banned.Count != 0 && Banned.IsBanned(clientId, userName, PeerHost(info));

    /// <summary>A connected client's connection ended: counted by flapping detection when it is on.</summary>
    private void DetectFlapping(MqttConnection connection, DisconnectReason reason)
    {
        // A broker that stops takes every client down; that is not the client flapping.
        if (Flapping.Policy is not null && reason != DisconnectReason.ServerShutdown)
        {
            Flapping.OnDisconnected(connection.ClientId!, PeerHost(connection.Info));
        }
    }

    /// <summary>
    /// EMQX's authentication chain: the user database (when a record exists it decides: 0x86 for a wrong password),
    /// then <c>allow_anonymous</c> (0x87 Not authorized when false). <paramref name="anonymous"/> is true when no record
    /// vouched for the client.
    /// </summary>
    internal ReasonCode Authenticate(string clientId, string? userName, byte[]? password, out bool isSuperuser, out bool anonymous)
    {
        anonymous = false;
        isSuperuser = false;
        switch (Users.Count == 0 ? AuthenticationResult.Ignore : Users.Check(clientId, userName, password, out isSuperuser))
        {
            case AuthenticationResult.Success:
                return ReasonCode.Success;
            case AuthenticationResult.BadPassword:
                return ReasonCode.BadUserNameOrPassword;
        }

        anonymous = true;
        return Options.AllowAnonymous ? ReasonCode.Success : ReasonCode.NotAuthorized;
    }

    /// <summary>
    /// The ACL check of a PUBLISH topic or SUBSCRIBE filter. Skipped entirely (nothing counted) for superusers, with
    /// <c>enable_acl</c> off, or when no rule can answer and the default is allow. A cache hit is a lock-free scan.
    /// </summary>
    internal bool IsAllowed(MqttConnection connection, AclAction action, ReadOnlySpan<byte> topic)
    {
        BrokerOptions options = Options;
        if (!options.EnableAcl || connection.IsSuperuser)
        {
            return true;
        }

        bool consultDatabase = options.AclDatabaseEnabled && Acl.Count > 0;
        if (!consultDatabase && options.AclNoMatch == AclNoMatch.Allow)
        {
            return true;
        }

        return CheckAcl(connection, action, topic, consultDatabase, options);
    }

    /// <summary>The publish ACL for a will's topic at CONNECT: no cache (the connection has no identity yet).</summary>
    internal bool IsWillAllowed(string clientId, string? userName, bool isSuperuser, ReadOnlySpan<byte> topic)
    {
        BrokerOptions options = Options;
        if (!options.EnableAcl || isSuperuser)
        {
            return true;
        }

        bool consultDatabase = options.AclDatabaseEnabled && Acl.Count > 0;
        if (!consultDatabase && options.AclNoMatch == AclNoMatch.Allow)
        {
            return true;
        }

        Counters.Increment(CounterId.ClientCheckAcl);
        return (consultDatabase ? Acl.Check(clientId, userName, AclAction.Publish, topic) : null) switch
        {
            AclAccess.Allow => true,
            AclAccess.Deny => false,
            _ => options.AclNoMatch == AclNoMatch.Allow,
        };
    }

    private bool CheckAcl(MqttConnection connection, AclAction action, ReadOnlySpan<byte> topic, bool consultDatabase, BrokerOptions options)
    {
        Counters.Increment(CounterId.ClientCheckAcl);
        int generation = Acl.Generation;
        long now = TimeProvider.GetTimestamp();
        AclCache? cache = null;
        int hash = 0;
        if (options.EnableAclCache)
        {
            cache = connection.GetOrCreateAclCache();
            hash = AclCache.HashTopic(topic);
            if (cache.TryGet(action, topic, hash, generation, now, out bool cached))
            {
                return cached;
            }
        }

        AclAccess? verdict = consultDatabase ? Acl.Check(connection.ClientId!, connection.UserName, action, topic) : null;
        bool allowed = verdict switch
        {
            AclAccess.Allow => true,
            AclAccess.Deny => false,
            _ => options.AclNoMatch == AclNoMatch.Allow,
        };

        if (cache is not null)
        {
            long expiresAt = now + (long)(options.AclCacheTtl.TotalSeconds * TimeProvider.TimestampFrequency);
            cache.Add(action, topic, hash, allowed, generation, now, expiresAt, TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), options.AclCacheMaxSize);
        }

        return allowed;
    }

    /// <summary>Once a second: purge expired bans; every <see cref="BrokerOptions.AlarmCheckInterval"/>: check the alarms.</summary>
    private void SecurityTick(long now)
    {
        Banned.Purge();
        Flapping.Sweep();
        if (now >= _nextAlarmCheck)
        {
            _nextAlarmCheck = now + (long)(Options.AlarmCheckInterval.TotalSeconds * TimeProvider.TimestampFrequency);
            Alarms.Check((int)Stats.GetCount(StatId.Connections));
        }
    }

    /// <summary>EMQX's alarm action <c>publish</c>: <c>$SYS/brokers/{node}/alarms/activate|deactivate</c> with the alarm as JSON.</summary>
    internal void PublishAlarmEvent(Alarm alarm, bool activated)
    {
        if (!Options.SysTopicsEnabled || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name"u8, alarm.Name);
            json.WriteString("message"u8, alarm.Message);
            json.WriteStartObject("details"u8);
            foreach (KeyValuePair<string, string> detail in alarm.Details)
            {
                json.WriteString(detail.Key, detail.Value);
            }

            json.WriteEndObject();
            json.WriteNumber("activate_at"u8, alarm.ActivatedAt.ToUnixTimeMilliseconds() * 1000);
            if (alarm.DeactivatedAt is { } deactivatedAt)
            {
                json.WriteNumber("deactivate_at"u8, deactivatedAt.ToUnixTimeMilliseconds() * 1000);
            }

            json.WriteBoolean("activated"u8, activated);
            json.WriteString("node"u8, Options.NodeName);
            json.WriteEndObject();
        }

        string topic = "$SYS/brokers/" + Options.NodeName + "/alarms/" + (activated ? "activate" : "deactivate");
        var message = new Message(System.Text.Encoding.UTF8.GetBytes(topic), buffer.WrittenSpan, QualityOfService.AtMostOnce, retain: false)
        {
            IsSystem = true,
            Timestamp = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        PublishInternal(message);
    }

    private static string? PeerHost(ConnectionInfo info) => info.RemoteEndPoint switch
    {
        IPEndPoint endPoint => (endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address).ToString(),
        _ => null,
    };
}
