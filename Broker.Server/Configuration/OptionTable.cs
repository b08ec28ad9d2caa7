using Broker.Core.Configuration;
using static Broker.Server.Configuration.OptionValues;

namespace Broker.Server.Configuration;

/// <summary>
/// Every setting of the standalone broker, in <c>--help</c> order. Names follow EMQX 4.4's configuration keys
/// (<c>max_inflight</c>, <c>max_mqueue_len</c>, <c>listener.tcp.external.acceptors</c>...) in kebab case for flags and
/// snake case for the JSON config file. Adding a <see cref="BrokerOptions"/> property means adding a row here.
/// </summary>
internal static class OptionTable
{
    private const string ServerSection = "Server";
    private const string ListenerSection = "MQTT/TCP listener";
    private const string ApiSection = "Management API (HTTP)";
    private const string MqttSection = "MQTT (broker core; EMQX zone defaults)";
    private const string SecuritySection = "Authentication, ACL and banned list (repeatable --user/--acl/--ban; config keys take arrays)";
    private const string AlarmSection = "Alarms";

    public static IReadOnlyList<OptionDefinition> All { get; } =
    [
        // Server
        new(ServerSection, "node-name", "NAME", "Node name (EMQX node.name), used in $SYS topics and the management API.",
            static (o, v) => o.Broker.NodeName = v, static o => o.Broker.NodeName),
        new(ServerSection, "data-dir", "DIR", "Directory for persistent state, created at start.",
            static (o, v) => o.DataDirectory = v, static o => o.DataDirectory),
        new(ServerSection, "persist-messages", "true|false", "Write retained messages and persistent sessions (subscriptions, queued QoS 1/2) to data-dir/broker.db; false keeps them in memory.",
            static (o, v) => o.PersistMessages = ParseBool(v), static o => Format(o.PersistMessages)),
        new(ServerSection, "log-level", "LEVEL", "Console log level: trace, debug, info, warning, error, critical, none.",
            static (o, v) => o.LogLevel = ParseLogLevel(v), static o => FormatLogLevel(o.LogLevel)),
        new(ServerSection, "shutdown-timeout", "SECONDS", "On SIGINT/SIGTERM, how long clients get to be disconnected before their sockets are aborted.",
            static (o, v) => o.ShutdownTimeout = ParseSeconds(v), static o => Format(o.ShutdownTimeout)),

        // MQTT/TCP listener
        new(ListenerSection, "bind", "ADDRESS", "Address the MQTT/TCP listener binds (:: for IPv4 and IPv6).",
            static (o, v) => o.Bind = ParseAddress(v), static o => o.Bind.ToString()),
        new(ListenerSection, "mqtt-port", "PORT", "MQTT/TCP port; 0 picks a free port.",
            static (o, v) => o.MqttPort = ParseInt(v), static o => Format(o.MqttPort)),
        new(ListenerSection, "acceptors", "N", "Concurrent accept loops; by default one per core, at most 4.",
            static (o, v) => o.MqttTcp.Acceptors = ParseInt(v), static o => Format(o.MqttTcp.Acceptors)),
        new(ListenerSection, "max-connections", "N", "Maximum concurrent connections (max_conns); extra ones are closed at once.",
            static (o, v) => o.MqttTcp.MaxConnections = ParseInt(v), static o => Format(o.MqttTcp.MaxConnections)),
        new(ListenerSection, "backlog", "N", "TCP accept backlog.",
            static (o, v) => o.MqttTcp.Backlog = ParseInt(v), static o => Format(o.MqttTcp.Backlog)),
        new(ListenerSection, "tcp-read-buffer-size", "BYTES", "Received bytes buffered per connection before reading pauses; 0 = no limit.",
            static (o, v) => o.MqttTcp.MaxReadBufferSize = ParseInt(v), static o => Format(o.MqttTcp.MaxReadBufferSize)),
        new(ListenerSection, "tcp-write-buffer-size", "BYTES", "Unsent bytes buffered per connection before the broker waits; 0 = no limit.",
            static (o, v) => o.MqttTcp.MaxWriteBufferSize = ParseInt(v), static o => Format(o.MqttTcp.MaxWriteBufferSize)),
        new(ListenerSection, "inline-io", "true|false", "Decode, route and send on the socket's I/O thread (one event loop per core) instead of the thread pool.",
            static (o, v) => o.MqttTcp.PreferInlineScheduling = ParseBool(v), static o => Format(o.MqttTcp.PreferInlineScheduling)),

        // Management API
        new(ApiSection, "api", "true|false", "Whether the management API (EMQX v4 at /api/v4 and /api, v3 at /api/v3) is served.",
            static (o, v) => o.ApiEnabled = ParseBool(v), static o => Format(o.ApiEnabled)),
        new(ApiSection, "api-bind", "ADDRESS", "Address the management API binds.",
            static (o, v) => o.Api.Address = ParseAddress(v), static o => o.Api.Address.ToString()),
        new(ApiSection, "api-port", "PORT", "Management API port; 0 picks a free port.",
            static (o, v) => o.Api.Port = ParseInt(v), static o => Format(o.Api.Port)),
        new(ApiSection, "api-max-body-size", "BYTES", "Largest request body accepted; larger ones get 413.",
            static (o, v) => o.Api.MaxBodySize = ParseInt(v), static o => Format(o.Api.MaxBodySize)),
        new(ApiSection, "api-default-app", "true|false", "Whether the default app is created at start (as EMQX, again if it was deleted).",
            static (o, v) => o.ApiDefaultApp = ParseBool(v), static o => Format(o.ApiDefaultApp)),
        new(ApiSection, "api-default-app-id", "ID", "AppID of the default app, created at start unless it exists (empty in the config file: none).",
            static (o, v) => o.ApiDefaultAppId = v, static o => o.ApiDefaultAppId),
        new(ApiSection, "api-default-app-secret", "SECRET", "AppSecret of the default app (empty in the config file: no default app).",
            static (o, v) => o.ApiDefaultAppSecret = v, static o => o.ApiDefaultAppSecret),

        // MQTT
        new(MqttSection, "max-packet-size", "BYTES", "Largest MQTT packet accepted (mqtt.max_packet_size).",
            static (o, v) => o.Broker.MaximumPacketSize = ParseInt(v), static o => Format(o.Broker.MaximumPacketSize)),
        new(MqttSection, "max-clientid-len", "N", "Longest client id accepted.",
            static (o, v) => o.Broker.MaximumClientIdLength = ParseInt(v), static o => Format(o.Broker.MaximumClientIdLength)),
        new(MqttSection, "max-topic-levels", "N", "Most levels in a topic; 0 = no limit.",
            static (o, v) => o.Broker.MaximumTopicLevels = ParseInt(v), static o => Format(o.Broker.MaximumTopicLevels)),
        new(MqttSection, "max-qos-allowed", "0|1|2", "Highest QoS granted.",
            static (o, v) => o.Broker.MaximumQoS = ParseQoS(v), static o => Format(o.Broker.MaximumQoS)),
        new(MqttSection, "max-topic-alias", "N", "Topic Alias Maximum for v5 clients; 0 disables topic aliases.",
            static (o, v) => o.Broker.MaximumTopicAlias = ParseInt(v), static o => Format(o.Broker.MaximumTopicAlias)),
        new(MqttSection, "max-subscriptions", "N", "Subscriptions per session; 0 = no limit.",
            static (o, v) => o.Broker.MaximumSubscriptions = ParseInt(v), static o => Format(o.Broker.MaximumSubscriptions)),
        new(MqttSection, "max-inflight", "N", "Unacknowledged QoS 1/2 deliveries per session (capped by each client's Receive Maximum).",
            static (o, v) => o.Broker.MaximumInflight = ParseInt(v), static o => Format(o.Broker.MaximumInflight)),
        new(MqttSection, "max-mqueue-len", "N", "Messages queued per session beyond the inflight window; the oldest is dropped when full.",
            static (o, v) => o.Broker.MaximumQueueLength = ParseInt(v), static o => Format(o.Broker.MaximumQueueLength)),
        new(MqttSection, "mqueue-store-qos0", "true|false", "Whether QoS 0 messages are queued for offline sessions.",
            static (o, v) => o.Broker.QueueQoS0Messages = ParseBool(v), static o => Format(o.Broker.QueueQoS0Messages)),
        new(MqttSection, "max-awaiting-rel", "N", "Incoming QoS 2 messages awaiting PUBREL per session (also the Receive Maximum told to v5 clients).",
            static (o, v) => o.Broker.MaximumAwaitingRel = ParseInt(v), static o => Format(o.Broker.MaximumAwaitingRel)),
        new(MqttSection, "await-rel-timeout", "SECONDS", "How long an incoming QoS 2 message waits for its PUBREL.",
            static (o, v) => o.Broker.AwaitRelTimeout = ParseSeconds(v), static o => Format(o.Broker.AwaitRelTimeout)),
        new(MqttSection, "retry-interval", "SECONDS", "Resend interval of unacknowledged QoS 1/2 deliveries.",
            static (o, v) => o.Broker.RetryInterval = ParseSeconds(v), static o => Format(o.Broker.RetryInterval)),
        new(MqttSection, "session-expiry-interval", "SECONDS", "How long a 3.1.1 persistent session outlives its connection.",
            static (o, v) => o.Broker.SessionExpiryInterval = ParseSeconds(v), static o => Format(o.Broker.SessionExpiryInterval)),
        new(MqttSection, "idle-timeout", "SECONDS", "A connection that sends no CONNECT within this is closed.",
            static (o, v) => o.Broker.ConnectTimeout = ParseSeconds(v), static o => Format(o.Broker.ConnectTimeout)),
        new(MqttSection, "max-keepalive", "SECONDS", "Largest keep alive accepted: v5 clients asking more are told this, 3.1/3.1.1 clients asking more are refused.",
            static (o, v) => o.Broker.MaximumKeepAlive = ParseInt(v), static o => Format(o.Broker.MaximumKeepAlive)),
        new(MqttSection, "server-keepalive", "SECONDS", "Keep alive imposed on every v5 client; 0 = off.",
            static (o, v) => o.Broker.ServerKeepAlive = ParseInt(v), static o => Format(o.Broker.ServerKeepAlive)),
        new(MqttSection, "retain-available", "true|false", "Whether retained messages are supported.",
            static (o, v) => o.Broker.RetainAvailable = ParseBool(v), static o => Format(o.Broker.RetainAvailable)),
        new(MqttSection, "wildcard-subscription", "true|false", "Whether wildcard subscriptions are allowed.",
            static (o, v) => o.Broker.WildcardSubscriptionAvailable = ParseBool(v), static o => Format(o.Broker.WildcardSubscriptionAvailable)),
        new(MqttSection, "shared-subscription", "true|false", "Whether shared subscriptions ($share/, $queue/) are allowed.",
            static (o, v) => o.Broker.SharedSubscriptionAvailable = ParseBool(v), static o => Format(o.Broker.SharedSubscriptionAvailable)),
        new(MqttSection, "subscription-identifiers", "true|false", "Whether v5 subscription identifiers are available.",
            static (o, v) => o.Broker.SubscriptionIdentifierAvailable = ParseBool(v), static o => Format(o.Broker.SubscriptionIdentifierAvailable)),
        new(MqttSection, "shared-subscription-strategy", "STRATEGY", "Shared group dispatch: random, round_robin, sticky, hash_clientid, hash_topic.",
            static (o, v) => o.Broker.SharedSubscriptionStrategy = ParseStrategy(v), static o => FormatStrategy(o.Broker.SharedSubscriptionStrategy)),
        new(MqttSection, "allow-anonymous", "true|false", "Whether clients without credentials may connect.",
            static (o, v) => o.Broker.AllowAnonymous = ParseBool(v), static o => Format(o.Broker.AllowAnonymous)),
        new(MqttSection, "ignore-loop-deliver", "true|false", "Whether a client never receives its own publishes.",
            static (o, v) => o.Broker.IgnoreLoopDeliver = ParseBool(v), static o => Format(o.Broker.IgnoreLoopDeliver)),
        new(MqttSection, "sys-interval", "SECONDS", "Period of the $SYS statistics; 0 disables them.",
            static (o, v) => o.Broker.SysInterval = ParseSeconds(v), static o => Format(o.Broker.SysInterval)),
        new(MqttSection, "sys-topics", "true|false", "Whether $SYS topics are published.",
            static (o, v) => o.Broker.SysTopicsEnabled = ParseBool(v), static o => Format(o.Broker.SysTopicsEnabled)),
        new(MqttSection, "retainer", "true|false", "Whether the retainer stores retained messages.",
            static (o, v) => o.Broker.RetainerEnabled = ParseBool(v), static o => Format(o.Broker.RetainerEnabled)),
        new(MqttSection, "max-retained-messages", "N", "Retained messages stored (retainer.max_retained_messages); 0 = no limit.",
            static (o, v) => o.Broker.MaximumRetainedMessages = ParseInt(v), static o => Format(o.Broker.MaximumRetainedMessages)),
        new(MqttSection, "max-retained-payload-size", "BYTES", "Largest retained payload stored (retainer.max_payload_size).",
            static (o, v) => o.Broker.MaximumRetainedPayloadSize = ParseInt(v), static o => Format(o.Broker.MaximumRetainedPayloadSize)),
        new(MqttSection, "delayed-publish", "true|false", "Whether $delayed/<seconds>/<topic> publishes are held back.",
            static (o, v) => o.Broker.DelayedPublishEnabled = ParseBool(v), static o => Format(o.Broker.DelayedPublishEnabled)),

        // Authentication, ACL, banned list
        new(SecuritySection, "user", "KIND:LOGIN:PASSWORD", "Adds a user to the built-in database: username:alice:secret or clientid:dev1:secret (JSON: {\"username\",\"password\",\"is_superuser\"}).",
            static (o, v) => o.Users.Add(SecurityBootstrap.ParseUser(v)), static o => FormatCount(o.Users.Count), isList: true),
        new(SecuritySection, "acl", "ACCESS,WHO,ACTION,TOPIC", "Adds an ACL rule: allow|deny, all|clientid:ID|username:NAME, pub|sub|pubsub, topic filter (%c, %u); e.g. deny,all,sub,test/nosubscribe.",
            static (o, v) => o.AclRules.Add(SecurityBootstrap.ParseAcl(v)), static o => FormatCount(o.AclRules.Count), isList: true),
        new(SecuritySection, "ban", "AS,WHO[,SECONDS]", "Bans a clientid, username or peerhost (IP) from the start, for SECONDS or 100 years; e.g. peerhost,10.0.0.9.",
            static (o, v) => o.Bans.Add(SecurityBootstrap.ParseBan(v)), static o => FormatCount(o.Bans.Count), isList: true),
        new(SecuritySection, "password-hash", "sha256|sha512", "Hash of new passwords in the user database, always salted (auth.mnesia.password_hash).",
            static (o, v) => o.Broker.PasswordHash = ParsePasswordHash(v), static o => FormatPasswordHash(o.Broker.PasswordHash)),
        new(SecuritySection, "auth-username", "true|false", "Whether username records of the user database authenticate (emqx_auth_username).",
            static (o, v) => o.Broker.AuthUsernameEnabled = ParseBool(v), static o => Format(o.Broker.AuthUsernameEnabled)),
        new(SecuritySection, "auth-clientid", "true|false", "Whether client id records of the user database authenticate (emqx_auth_clientid).",
            static (o, v) => o.Broker.AuthClientIdEnabled = ParseBool(v), static o => Format(o.Broker.AuthClientIdEnabled)),
        new(SecuritySection, "enable-acl", "true|false", "Whether PUBLISH and SUBSCRIBE are checked against the ACL at all (enable_acl).",
            static (o, v) => o.Broker.EnableAcl = ParseBool(v), static o => Format(o.Broker.EnableAcl)),
        new(SecuritySection, "acl-database", "true|false", "Whether the built-in ACL rules are consulted (emqx_acl_mnesia).",
            static (o, v) => o.Broker.AclDatabaseEnabled = ParseBool(v), static o => Format(o.Broker.AclDatabaseEnabled)),
        new(SecuritySection, "acl-nomatch", "allow|deny", "Answer when no ACL rule matches (acl_nomatch).",
            static (o, v) => o.Broker.AclNoMatch = ParseAclNoMatch(v), static o => o.Broker.AclNoMatch == AclNoMatch.Allow ? "allow" : "deny"),
        new(SecuritySection, "acl-deny-action", "ignore|disconnect", "What a denied PUBLISH/SUBSCRIBE does to its client (acl_deny_action).",
            static (o, v) => o.Broker.AclDenyAction = ParseAclDenyAction(v), static o => o.Broker.AclDenyAction == AclDenyAction.Ignore ? "ignore" : "disconnect"),
        new(SecuritySection, "enable-acl-cache", "true|false", "Whether ACL answers are cached per client (enable_acl_cache).",
            static (o, v) => o.Broker.EnableAclCache = ParseBool(v), static o => Format(o.Broker.EnableAclCache)),
        new(SecuritySection, "acl-cache-max-size", "N", "ACL answers cached per client (acl_cache_max_size).",
            static (o, v) => o.Broker.AclCacheMaxSize = ParseInt(v), static o => Format(o.Broker.AclCacheMaxSize)),
        new(SecuritySection, "acl-cache-ttl", "SECONDS", "How long a cached ACL answer is used (acl_cache_ttl).",
            static (o, v) => o.Broker.AclCacheTtl = ParseSeconds(v), static o => Format(o.Broker.AclCacheTtl)),

        // Alarms
        new(AlarmSection, "alarm-max-connections", "N", "Connections the too_many_connections alarm measures against; 0 = the listener's max-connections.",
            static (o, v) => o.Broker.MaximumConnections = ParseInt(v), static o => Format(o.Broker.MaximumConnections)),
        new(AlarmSection, "alarm-connections-high-watermark", "FRACTION", "Share of those connections that raises too_many_connections (0.8 or 80%).",
            static (o, v) => o.Broker.ConnectionsHighWatermark = ParseFraction(v), static o => Format(o.Broker.ConnectionsHighWatermark)),
        new(AlarmSection, "alarm-connections-low-watermark", "FRACTION", "Share below which too_many_connections clears.",
            static (o, v) => o.Broker.ConnectionsLowWatermark = ParseFraction(v), static o => Format(o.Broker.ConnectionsLowWatermark)),
        new(AlarmSection, "alarm-memory-high-watermark", "FRACTION", "Share of available memory used by the process that raises high_process_memory_usage.",
            static (o, v) => o.Broker.ProcessMemoryHighWatermark = ParseFraction(v), static o => Format(o.Broker.ProcessMemoryHighWatermark)),
        new(AlarmSection, "alarm-check-interval", "SECONDS", "How often the alarm conditions are checked.",
            static (o, v) => o.Broker.AlarmCheckInterval = ParseSeconds(v), static o => Format(o.Broker.AlarmCheckInterval)),
        new(AlarmSection, "alarm-validity-period", "SECONDS", "How long cleared alarms are kept (alarm.validity_period).",
            static (o, v) => o.Broker.AlarmValidityPeriod = ParseSeconds(v), static o => Format(o.Broker.AlarmValidityPeriod)),
        new(AlarmSection, "alarm-size-limit", "N", "Cleared alarms kept at most (alarm.size_limit).",
            static (o, v) => o.Broker.AlarmSizeLimit = ParseInt(v), static o => Format(o.Broker.AlarmSizeLimit)),
    ];

    /// <summary>The definition for a flag name without its dashes, or null.</summary>
    public static OptionDefinition? FindByName(string name)
    {
        foreach (OptionDefinition definition in All)
        {
            if (string.Equals(definition.Name, name, StringComparison.Ordinal))
            {
                return definition;
            }
        }

        return null;
    }

    /// <summary>The definition for a JSON key, or null.</summary>
    public static OptionDefinition? FindByJsonKey(string key)
    {
        foreach (OptionDefinition definition in All)
        {
            if (string.Equals(definition.JsonKey, key, StringComparison.Ordinal))
            {
                return definition;
            }
        }

        return null;
    }
}
