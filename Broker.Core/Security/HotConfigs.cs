using System.Globalization;
using Broker.Core.Configuration;
using Broker.Core.Protocol;

namespace Broker.Core.Security;

/// <summary>One modifiable configuration item as <c>GET /api/v3/configs</c> shows it.</summary>
/// <param name="Key">EMQX's key, for example <c>mqtt.allow_anonymous</c>.</param>
/// <param name="Value">The current value as text.</param>
/// <param name="DataType">EMQX's type text: <c>bool</c>, <c>integer</c>, <c>duration</c>, <c>bytesize</c>, <c>enum</c>.</param>
/// <param name="App">The application it belongs to: <c>emqx</c>, <c>emqx_retainer</c>, <c>emqx_auth_mnesia</c>.</param>
public sealed record ConfigItem(string Key, string Value, string DataType, string App);

/// <summary>The outcome of a configuration change.</summary>
public enum ConfigChange
{
    /// <summary>Applied.</summary>
    Done,
    /// <summary>No modifiable item has this key.</summary>
    UnknownKey,
    /// <summary>The key belongs to another application than the one named.</summary>
    WrongApp,
    /// <summary>The value does not parse or is out of range.</summary>
    BadValue,
}

/// <summary>
/// EMQX's hot configuration (<c>/api/v3/configs</c>): the <see cref="BrokerOptions"/> that may change while the broker
/// runs, under EMQX's keys. A change applies to connections accepted after it (and to the next ACL check, publish or
/// retained message for the items read there). Durations accept EMQX's forms (<c>30s</c>, <c>1m</c>, <c>2h</c>,
/// <c>500ms</c>; a bare number is milliseconds as in cuttlefish), byte sizes <c>1MB</c>, <c>512KB</c> or a number.
/// </summary>
public sealed class HotConfigs
{
    private const string Emqx = "emqx";
    private const string Retainer = "emqx_retainer";
    private const string AuthMnesia = "emqx_auth_mnesia";

    private static readonly Item[] s_items =
    [
        Bool(Emqx, "mqtt.allow_anonymous", static o => o.AllowAnonymous, static (o, v) => o.AllowAnonymous = v),
        Bool(Emqx, "mqtt.enable_acl", static o => o.EnableAcl, static (o, v) => o.EnableAcl = v),
        new(Emqx, "mqtt.acl_nomatch", "enum", static o => o.AclNoMatch == AclNoMatch.Allow ? "allow" : "deny",
            static (o, v) => Enum(v, ["allow", "deny"], i => o.AclNoMatch = i == 0 ? AclNoMatch.Allow : AclNoMatch.Deny)),
        new(Emqx, "mqtt.acl_deny_action", "enum", static o => o.AclDenyAction == AclDenyAction.Ignore ? "ignore" : "disconnect",
            static (o, v) => Enum(v, ["ignore", "disconnect"], i => o.AclDenyAction = i == 0 ? AclDenyAction.Ignore : AclDenyAction.Disconnect)),
        Bool(Emqx, "mqtt.enable_acl_cache", static o => o.EnableAclCache, static (o, v) => o.EnableAclCache = v),
        Int(Emqx, "mqtt.acl_cache_max_size", static o => o.AclCacheMaxSize, static (o, v) => o.AclCacheMaxSize = v),
        Duration(Emqx, "mqtt.acl_cache_ttl", static o => o.AclCacheTtl, static (o, v) => o.AclCacheTtl = v),
        Bytes(Emqx, "mqtt.max_packet_size", static o => o.MaximumPacketSize, static (o, v) => o.MaximumPacketSize = v),
        Int(Emqx, "mqtt.max_clientid_len", static o => o.MaximumClientIdLength, static (o, v) => o.MaximumClientIdLength = v),
        Int(Emqx, "mqtt.max_topic_levels", static o => o.MaximumTopicLevels, static (o, v) => o.MaximumTopicLevels = v),
        Int(Emqx, "mqtt.max_qos_allowed", static o => (int)o.MaximumQoS, static (o, v) => o.MaximumQoS = v is >= 0 and <= 2 ? (QualityOfService)v : throw new ArgumentOutOfRangeException(nameof(v))),
        Int(Emqx, "mqtt.max_topic_alias", static o => o.MaximumTopicAlias, static (o, v) => o.MaximumTopicAlias = v),
        Bool(Emqx, "mqtt.retain_available", static o => o.RetainAvailable, static (o, v) => o.RetainAvailable = v),
        Bool(Emqx, "mqtt.wildcard_subscription", static o => o.WildcardSubscriptionAvailable, static (o, v) => o.WildcardSubscriptionAvailable = v),
        Bool(Emqx, "mqtt.shared_subscription", static o => o.SharedSubscriptionAvailable, static (o, v) => o.SharedSubscriptionAvailable = v),
        Bool(Emqx, "mqtt.ignore_loop_deliver", static o => o.IgnoreLoopDeliver, static (o, v) => o.IgnoreLoopDeliver = v),
        Int(Emqx, "mqtt.server_keepalive", static o => o.ServerKeepAlive, static (o, v) => o.ServerKeepAlive = v),
        Int(Emqx, "mqtt.max_subscriptions", static o => o.MaximumSubscriptions, static (o, v) => o.MaximumSubscriptions = v),
        Int(Emqx, "mqtt.max_inflight", static o => o.MaximumInflight, static (o, v) => o.MaximumInflight = v),
        Int(Emqx, "mqtt.max_mqueue_len", static o => o.MaximumQueueLength, static (o, v) => o.MaximumQueueLength = v),
        Bool(Emqx, "mqtt.mqueue_store_qos0", static o => o.QueueQoS0Messages, static (o, v) => o.QueueQoS0Messages = v),
        Int(Emqx, "mqtt.max_awaiting_rel", static o => o.MaximumAwaitingRel, static (o, v) => o.MaximumAwaitingRel = v),
        Duration(Emqx, "mqtt.await_rel_timeout", static o => o.AwaitRelTimeout, static (o, v) => o.AwaitRelTimeout = v),
        Duration(Emqx, "mqtt.retry_interval", static o => o.RetryInterval, static (o, v) => o.RetryInterval = v),
        Duration(Emqx, "mqtt.session_expiry_interval", static o => o.SessionExpiryInterval, static (o, v) => o.SessionExpiryInterval = v),
        Duration(Emqx, "mqtt.idle_timeout", static o => o.ConnectTimeout, static (o, v) => o.ConnectTimeout = v),
        Duration(Emqx, "broker.sys_interval", static o => o.SysInterval, static (o, v) => o.SysInterval = v),
        Bytes(Retainer, "retainer.max_payload_size", static o => o.MaximumRetainedPayloadSize, static (o, v) => o.MaximumRetainedPayloadSize = v),
        Int(Retainer, "retainer.max_retained_messages", static o => o.MaximumRetainedMessages, static (o, v) => o.MaximumRetainedMessages = v),
        new(AuthMnesia, "auth.mnesia.password_hash", "enum", static o => o.PasswordHash == PasswordHashAlgorithm.Sha512 ? "sha512" : "sha256",
            static (o, v) => Enum(v, ["sha256", "sha512"], i => o.PasswordHash = i == 0 ? PasswordHashAlgorithm.Sha256 : PasswordHashAlgorithm.Sha512)),
    ];

    private readonly MqttBroker _broker;

    internal HotConfigs(MqttBroker broker)
    {
        _broker = broker;
    }

    /// <summary>Every modifiable item with its current value.</summary>
    public IReadOnlyList<ConfigItem> List()
    {
        var list = new ConfigItem[s_items.Length];
        for (int i = 0; i < list.Length; i++)
        {
            Item item = s_items[i];
            list[i] = new ConfigItem(item.Key, item.Get(_broker.Options), item.DataType, item.App);
        }

        return list;
    }

    /// <summary>The items of one application.</summary>
    public IReadOnlyList<ConfigItem> List(string app)
    {
        var list = new List<ConfigItem>();
        foreach (ConfigItem item in List())
        {
            if (string.Equals(item.App, app, StringComparison.Ordinal))
            {
                list.Add(item);
            }
        }

        return list;
    }

    /// <summary>
    /// Changes one item (<c>PUT /api/v3/configs/{app}</c> with <c>{"key","value"}</c>); <paramref name="app"/> may be
    /// null to skip the application check. <paramref name="error"/> says what was wrong.
    /// </summary>
    public ConfigChange Set(string? app, string key, string value, out string? error)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        error = null;
        foreach (Item item in s_items)
        {
            if (!string.Equals(item.Key, key, StringComparison.Ordinal))
            {
                continue;
            }

            if (app is not null && !string.Equals(app, item.App, StringComparison.Ordinal))
            {
                error = $"{key} belongs to {item.App}, not {app}";
                return ConfigChange.WrongApp;
            }

            try
            {
                item.Set(_broker.Options, value.Trim());
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
            {
                error = $"bad value for {key} ({item.DataType}): {value}";
                return ConfigChange.BadValue;
            }

            _broker.Acl.Invalidate();
            return ConfigChange.Done;
        }

        error = $"{key} is not a modifiable configuration item";
        return ConfigChange.UnknownKey;
    }

    private static Item Bool(string app, string key, Func<BrokerOptions, bool> get, Action<BrokerOptions, bool> set)
        => new(app, key, "bool", o => get(o) ? "true" : "false", (o, v) => set(o, v switch
        {
            "true" or "on" => true,
            "false" or "off" => false,
            _ => throw new FormatException(),
        }));

    private static Item Int(string app, string key, Func<BrokerOptions, int> get, Action<BrokerOptions, int> set)
        => new(app, key, "integer", o => get(o).ToString(CultureInfo.InvariantCulture), (o, v) => set(o, int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture)));

    private static Item Bytes(string app, string key, Func<BrokerOptions, int> get, Action<BrokerOptions, int> set)
        => new(app, key, "bytesize", o => get(o).ToString(CultureInfo.InvariantCulture), (o, v) => set(o, ParseByteSize(v)));

    private static Item Duration(string app, string key, Func<BrokerOptions, TimeSpan> get, Action<BrokerOptions, TimeSpan> set)
        => new(app, key, "duration", o => ((long)get(o).TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s", (o, v) => set(o, ParseDuration(v)));

    private static void Enum(string value, string[] names, Action<int> set)
    {
        int index = Array.IndexOf(names, value);
        if (index < 0)
        {
            throw new FormatException();
        }

        set(index);
    }

    /// <summary>EMQX durations: <c>500ms</c>, <c>30s</c>, <c>1m</c>, <c>2h</c>, <c>1d</c>; a bare number is milliseconds.</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        (string digits, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 1.0),
            _ when text.EndsWith('s') || text.EndsWith('S') => (text[..^1], 1000.0),
            _ when text.EndsWith('m') || text.EndsWith('M') => (text[..^1], 60_000.0),
            _ when text.EndsWith('h') || text.EndsWith('H') => (text[..^1], 3_600_000.0),
            _ when text.EndsWith('d') || text.EndsWith('D') => (text[..^1], 86_400_000.0),
            _ => (text, 1.0),
        };
        long value = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(value * scale);
    }

    /// <summary>EMQX byte sizes: <c>1MB</c>, <c>64KB</c>, <c>1GB</c>, or a number of bytes.</summary>
    internal static int ParseByteSize(string text)
    {
        (string digits, long scale) = text.ToUpperInvariant() switch
        {
            var t when t.EndsWith("KB", StringComparison.Ordinal) => (text[..^2], 1024L),
            var t when t.EndsWith("MB", StringComparison.Ordinal) => (text[..^2], 1024L * 1024),
            var t when t.EndsWith("GB", StringComparison.Ordinal) => (text[..^2], 1024L * 1024 * 1024),
            _ => (text, 1L),
        };
        return checked((int)(long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * scale));
    }

    private sealed record Item(string App, string Key, string DataType, Func<BrokerOptions, string> Get, Action<BrokerOptions, string> Set);
}
