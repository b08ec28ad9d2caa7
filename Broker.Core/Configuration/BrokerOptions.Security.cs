using Broker.Core.Security;

namespace Broker.Core.Configuration;

/// <summary>What an ACL check does when no rule matches (EMQX's <c>acl_nomatch</c>).</summary>
public enum AclNoMatch
{
    /// <summary>Allow (EMQX's default).</summary>
    Allow,
    /// <summary>Deny.</summary>
    Deny,
}

/// <summary>What happens to a client whose PUBLISH is denied (EMQX's <c>acl_deny_action</c>).</summary>
public enum AclDenyAction
{
    /// <summary>The message is dropped; QoS 1/2 are acknowledged with 0x87 Not authorized (v5). EMQX's default.</summary>
    Ignore,
    /// <summary>The client is disconnected (v5: DISCONNECT 0x87).</summary>
    Disconnect,
}

public sealed partial class BrokerOptions
{
    private int _aclCacheMaxSize = 32;
    private TimeSpan _aclCacheTtl = TimeSpan.FromMinutes(1);
    private int _maximumConnections;
    private double _connectionsHighWatermark = 0.8;
    private double _connectionsLowWatermark = 0.6;
    private double _processMemoryHighWatermark = 0.7;
    private TimeSpan _alarmCheckInterval = TimeSpan.FromSeconds(60);
    private TimeSpan _alarmValidityPeriod = TimeSpan.FromHours(24);
    private int _alarmSizeLimit = 1000;
    private FlappingPolicy _flappingDetectPolicy = new(30, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));

    /// <summary><c>zone.external.enable_flapping_detect</c>, off: whether clients that disconnect too often are banned.</summary>
    public bool EnableFlappingDetect { get; set; }

    /// <summary>
    /// <c>flapping_detect_policy</c>, <c>30, 1m, 5m</c>: a client id that disconnects 30 times within 1 minute is banned
    /// for 5 minutes (EMQX 4.4's <c>etc/emqx.conf</c> default).
    /// </summary>
    public FlappingPolicy FlappingDetectPolicy
    {
        get => _flappingDetectPolicy;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            CheckRange(value.MaxCount, 1, int.MaxValue, "MaxCount");
            CheckPositive(value.Window, "Window");
            CheckPositive(value.BanTime, "BanTime");
            _flappingDetectPolicy = value;
        }
    }

    /// <summary><c>enable_acl</c>, true: whether PUBLISH and SUBSCRIBE are checked against the ACL at all.</summary>
    public bool EnableAcl { get; set; } = true;

    /// <summary><c>acl_nomatch</c>, allow: the answer when no ACL rule matches.</summary>
    public AclNoMatch AclNoMatch { get; set; } = AclNoMatch.Allow;

    /// <summary><c>acl_deny_action</c>, ignore: what a denied PUBLISH does to its client.</summary>
    public AclDenyAction AclDenyAction { get; set; } = AclDenyAction.Ignore;

    /// <summary><c>enable_acl_cache</c>, true: ACL results are cached per client.</summary>
    public bool EnableAclCache { get; set; } = true;

    /// <summary><c>acl_cache_max_size</c>, 32: results cached per client; the oldest is evicted when full.</summary>
    public int AclCacheMaxSize
    {
        get => _aclCacheMaxSize;
        set => _aclCacheMaxSize = CheckRange(value, 1, 1_048_576);
    }

    /// <summary><c>acl_cache_ttl</c>, 1 min: how long a cached ACL result is used.</summary>
    public TimeSpan AclCacheTtl
    {
        get => _aclCacheTtl;
        set => _aclCacheTtl = CheckPositive(value);
    }

    /// <summary>
    /// <c>auth.mnesia.password_hash</c>, sha256: how passwords added to the user database are hashed (always with a
    /// 4-byte salt). Only sha256 and sha512 are accepted here; stored md5/sha/plain hashes are still verified.
    /// </summary>
    public PasswordHashAlgorithm PasswordHash
    {
        get;
        set => field = value is PasswordHashAlgorithm.Sha256 or PasswordHashAlgorithm.Sha512
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "New passwords are hashed with sha256 or sha512.");
    } = PasswordHashAlgorithm.Sha256;

    /// <summary>Whether the user database authenticates by username (EMQX 3.x's <c>emqx_auth_username</c>), true.</summary>
    public bool AuthUsernameEnabled { get; set; } = true;

    /// <summary>Whether the user database authenticates by client id (EMQX 3.x's <c>emqx_auth_clientid</c>), true.</summary>
    public bool AuthClientIdEnabled { get; set; } = true;

    /// <summary>Whether the built-in ACL database is consulted (EMQX's <c>emqx_acl_mnesia</c>), true.</summary>
    public bool AclDatabaseEnabled { get; set; } = true;

    /// <summary>
    /// The connection count the <c>too_many_connections</c> alarm measures against (the listeners' <c>max_conns</c>);
    /// 0 (off). The standalone server sets it from its listener.
    /// </summary>
    public int MaximumConnections
    {
        get => _maximumConnections;
        set => _maximumConnections = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary>Share of <see cref="MaximumConnections"/> that raises <c>too_many_connections</c>, 0.8 (EMQX's vm_mon process_high_watermark).</summary>
    public double ConnectionsHighWatermark
    {
        get => _connectionsHighWatermark;
        set => _connectionsHighWatermark = CheckFraction(value);
    }

    /// <summary>Share of <see cref="MaximumConnections"/> below which <c>too_many_connections</c> clears, 0.6 (vm_mon process_low_watermark).</summary>
    public double ConnectionsLowWatermark
    {
        get => _connectionsLowWatermark;
        set => _connectionsLowWatermark = CheckFraction(value);
    }

    /// <summary>
    /// Share of the memory available to the process (<see cref="GC.GetGCMemoryInfo()"/>'s total available bytes) above
    /// which <c>high_process_memory_usage</c> is raised, 0.7 (EMQX's os_mon sysmem_high_watermark); it clears below.
    /// </summary>
    public double ProcessMemoryHighWatermark
    {
        get => _processMemoryHighWatermark;
        set => _processMemoryHighWatermark = CheckFraction(value);
    }

    /// <summary>How often the alarm conditions are checked, 60 s (os_mon mem_check_interval).</summary>
    public TimeSpan AlarmCheckInterval
    {
        get => _alarmCheckInterval;
        set => _alarmCheckInterval = CheckPositive(value);
    }

    /// <summary><c>alarm.validity_period</c>, 24 h: how long a deactivated alarm is kept in the history.</summary>
    public TimeSpan AlarmValidityPeriod
    {
        get => _alarmValidityPeriod;
        set => _alarmValidityPeriod = CheckPositive(value);
    }

    /// <summary><c>alarm.size_limit</c>, 1000: deactivated alarms kept; the oldest go first.</summary>
    public int AlarmSizeLimit
    {
        get => _alarmSizeLimit;
        set => _alarmSizeLimit = CheckRange(value, 1, 1_000_000);
    }

    private static double CheckFraction(double value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
        => value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(name, value, "Must be between 0 and 1.");
}
