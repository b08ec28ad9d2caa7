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
    private const string SslSection = "MQTT/SSL listener (TLS; the WSS listener uses the same certificate)";
    private const string WsSection = "MQTT/WebSocket listeners (WS and WSS)";
    private const string ApiSection = "Management API (HTTP)";
    private const string ApiHttpsSection = "Management API (HTTPS, on Kestrel)";
    private const string ChannelSection = "Cloud-edge channel (/api/login, /api/emqxee/dashboard/{cluster}/..., /api/edgeservice/proxy/{service}/...)";
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
        new(ServerSection, "jit-warmup", "true|false", "Before the listeners open, compile the broker's hot paths by running two clients through a private broker on a loopback port.",
            static (o, v) => o.JitWarmup = ParseBool(v), static o => Format(o.JitWarmup)),
        new(ServerSection, "log-level", "LEVEL", "Console log level: trace, debug, info, warning, error, critical, none.",
            static (o, v) => o.LogLevel = ParseLogLevel(v), static o => FormatLogLevel(o.LogLevel)),
        new(ServerSection, "shutdown-timeout", "SECONDS", "On SIGINT/SIGTERM, how long clients get to be disconnected before their sockets are aborted.",
            static (o, v) => o.ShutdownTimeout = ParseSeconds(v), static o => Format(o.ShutdownTimeout)),

        // MQTT/TCP listener
        new(ListenerSection, "bind", "ADDRESS", "Address the MQTT listeners (TCP, SSL, WS, WSS) bind (:: for IPv4 and IPv6).",
            static (o, v) => o.Bind = ParseAddress(v), static o => o.Bind.ToString()),
        new(ListenerSection, "mqtt-port", "PORT", "MQTT/TCP port; 0 picks a free port.",
            static (o, v) => o.MqttPort = ParseInt(v), static o => Format(o.MqttPort)),
        new(ListenerSection, "acceptors", "N", "Concurrent accept loops; by default one per core, at most 4.",
            static (o, v) => o.MqttTcp.Acceptors = ParseInt(v), static o => Format(o.MqttTcp.Acceptors)),
        new(ListenerSection, "max-connections", "N", "Maximum concurrent connections (max_conns); extra ones are closed at once.",
            static (o, v) => o.MqttTcp.MaxConnections = ParseInt(v), static o => Format(o.MqttTcp.MaxConnections)),
        new(ListenerSection, "backlog", "N", "TCP accept backlog.",
            static (o, v) => o.MqttTcp.Backlog = ParseInt(v), static o => Format(o.MqttTcp.Backlog)),
        new(ListenerSection, "tcp-write-buffer-size", "BYTES", "Flushed bytes the kernel has not taken yet, per connection, before the broker waits; 0 = no limit.",
            static (o, v) => o.MqttTcp.MaxWriteBufferSize = ParseInt(v), static o => Format(o.MqttTcp.MaxWriteBufferSize)),
        new(ListenerSection, "inline-io", "true|false", "Decode, route and send on the socket's I/O thread (one event loop per core); false: on the thread pool.",
            static (o, v) => o.MqttTcp.PreferInlineScheduling = ParseBool(v), static o => Format(o.MqttTcp.PreferInlineScheduling)),
        new(ListenerSection, "event-loop-slice", "MICROSECONDS", "Linux 6.12+: scheduling slice asked for the socket event-loop threads, so a waking loop preempts batch work at once (100-100000); 0: the kernel's default.",
            static (o, v) => o.EventLoopSliceMicroseconds = ParseInt(v), static o => Format(o.EventLoopSliceMicroseconds)),

        // MQTT/SSL listener
        new(SslSection, "ssl", "true|false|auto", "Whether the MQTT/SSL listener runs; auto: when --ssl-certfile is set. true without a certificate fails at start.",
            static (o, v) => o.SslEnabled = ParseAuto(v), static o => FormatAuto(o.SslEnabled)),
        new(SslSection, "ssl-port", "PORT", "MQTT/SSL port; 0 picks a free port.",
            static (o, v) => o.SslPort = ParseInt(v), static o => Format(o.SslPort)),
        new(SslSection, "ssl-acceptors", "N", "Concurrent accept loops of the SSL listener.",
            static (o, v) => o.MqttSsl.Acceptors = ParseInt(v), static o => Format(o.MqttSsl.Acceptors)),
        new(SslSection, "ssl-max-connections", "N", "Maximum concurrent connections of the SSL listener (max_conns).",
            static (o, v) => o.MqttSsl.MaxConnections = ParseInt(v), static o => Format(o.MqttSsl.MaxConnections)),
        new(SslSection, "ssl-certfile", "FILE", "Server certificate: PEM (leaf then intermediates, key may follow) or PKCS#12 (.pfx/.p12 with its key). Nothing is generated.",
            static (o, v) => o.Tls.CertificateFile = EmptyAsNull(v), static o => o.Tls.CertificateFile ?? ""),
        new(SslSection, "ssl-keyfile", "FILE", "PEM private key, when not in the certificate file.",
            static (o, v) => o.Tls.KeyFile = EmptyAsNull(v), static o => o.Tls.KeyFile ?? ""),
        new(SslSection, "ssl-password", "PASSWORD", "Password of the PKCS#12 file or of an encrypted PEM key.",
            static (o, v) => o.Tls.Password = EmptyAsNull(v), static o => o.Tls.Password is null ? "" : "(set)"),
        new(SslSection, "ssl-cacertfile", "FILE", "PEM CA certificates client certificates must chain to (verify_peer); none: the system's roots.",
            static (o, v) => o.Tls.CaCertificateFile = EmptyAsNull(v), static o => o.Tls.CaCertificateFile ?? ""),
        new(SslSection, "ssl-verify", "verify_none|verify_peer", "Whether a client certificate is requested and checked.",
            static (o, v) => o.Tls.Verify = ParseVerify(v), static o => FormatVerify(o.Tls.Verify)),
        new(SslSection, "ssl-fail-if-no-peer-cert", "true|false", "With verify_peer, refuse clients that send no certificate.",
            static (o, v) => o.Tls.FailIfNoPeerCertificate = ParseBool(v), static o => Format(o.Tls.FailIfNoPeerCertificate)),
        new(SslSection, "peer-cert-as-username", "cn|dn|off", "Use the client certificate's common name (cn) or subject (dn) as the MQTT username (SSL and WSS).",
            static (o, v) => o.Tls.PeerCertAsUserName = ParsePeerCertName(v), static o => FormatPeerCertName(o.Tls.PeerCertAsUserName)),
        new(SslSection, "ssl-versions", "VERSIONS", "TLS versions offered: tlsv1.2, tlsv1.3 or both, comma-separated.",
            static (o, v) => o.Tls.Protocols = ParseTlsVersions(v), static o => FormatTlsVersions(o.Tls.Protocols)),
        new(SslSection, "ssl-handshake-timeout", "SECONDS", "A client that has not completed the TLS handshake by then is closed.",
            static (o, v) => o.Tls.HandshakeTimeout = ParseSeconds(v), static o => Format(o.Tls.HandshakeTimeout)),

        // MQTT/WebSocket listeners
        new(WsSection, "ws", "true|false", "Whether the MQTT/WebSocket listener runs.",
            static (o, v) => o.WsEnabled = ParseBool(v), static o => Format(o.WsEnabled)),
        new(WsSection, "ws-port", "PORT", "MQTT/WebSocket port; 0 picks a free port.",
            static (o, v) => o.WsPort = ParseInt(v), static o => Format(o.WsPort)),
        new(WsSection, "ws-acceptors", "N", "Concurrent accept loops of the WS listener.",
            static (o, v) => o.MqttWs.Acceptors = ParseInt(v), static o => Format(o.MqttWs.Acceptors)),
        new(WsSection, "ws-max-connections", "N", "Maximum concurrent connections of the WS listener (max_conns).",
            static (o, v) => o.MqttWs.MaxConnections = ParseInt(v), static o => Format(o.MqttWs.MaxConnections)),
        new(WsSection, "ws-path", "PATH", "Request path of the WebSocket upgrade (WS and WSS); other paths get 404.",
            static (o, v) => o.WebSocket.Path = v, static o => o.WebSocket.Path),
        new(WsSection, "ws-supported-subprotocols", "LIST", "Subprotocols accepted, comma-separated; the first one the client offers is chosen.",
            static (o, v) => o.WebSocket.SupportedSubprotocols = ParseList(v), static o => string.Join(',', o.WebSocket.SupportedSubprotocols)),
        new(WsSection, "ws-fail-if-no-subprotocol", "true|false", "Refuse (400) an upgrade that offers no subprotocol.",
            static (o, v) => o.WebSocket.FailIfNoSubprotocol = ParseBool(v), static o => Format(o.WebSocket.FailIfNoSubprotocol)),
        new(WsSection, "wss", "true|false|auto", "Whether the MQTT/WSS listener runs; auto: when --ssl-certfile is set.",
            static (o, v) => o.WssEnabled = ParseAuto(v), static o => FormatAuto(o.WssEnabled)),
        new(WsSection, "wss-port", "PORT", "MQTT/WSS port; 0 picks a free port.",
            static (o, v) => o.WssPort = ParseInt(v), static o => Format(o.WssPort)),
        new(WsSection, "wss-acceptors", "N", "Concurrent accept loops of the WSS listener.",
            static (o, v) => o.MqttWss.Acceptors = ParseInt(v), static o => Format(o.MqttWss.Acceptors)),
        new(WsSection, "wss-max-connections", "N", "Maximum concurrent connections of the WSS listener (max_conns).",
            static (o, v) => o.MqttWss.MaxConnections = ParseInt(v), static o => Format(o.MqttWss.MaxConnections)),

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
        new(ApiSection, "api-http", "true|false", "Whether the plain HTTP host serves the API (false with --api-https true: HTTPS only).",
            static (o, v) => o.ApiHttp = ParseBool(v), static o => Format(o.ApiHttp)),

        // Management API over HTTPS
        new(ApiHttpsSection, "api-https", "true|false", "Whether the management API is also served over HTTPS (TLS 1.2/1.3); needs --api-https-certfile.",
            static (o, v) => o.ApiHttps.Enabled = ParseBool(v), static o => Format(o.ApiHttps.Enabled)),
        new(ApiHttpsSection, "api-https-bind", "ADDRESS", "Address the HTTPS management API binds.",
            static (o, v) => o.ApiHttps.Address = ParseAddress(v), static o => o.ApiHttps.Address.ToString()),
        new(ApiHttpsSection, "api-https-port", "PORT", "HTTPS management API port (8443, the EMQX Cloud API's); 0 picks a free port.",
            static (o, v) => o.ApiHttps.Port = ParseInt(v), static o => Format(o.ApiHttps.Port)),
        new(ApiHttpsSection, "api-https-certfile", "FILE", "Certificate: PEM (with --api-https-keyfile, or holding the key) or PFX/PKCS#12; none: not set.",
            static (o, v) => o.ApiHttps.CertificateFile = NoneAsEmpty(v), static o => EmptyAsNone(o.ApiHttps.CertificateFile)),
        new(ApiHttpsSection, "api-https-keyfile", "FILE", "PEM private key of the certificate; none when the certificate file holds it.",
            static (o, v) => o.ApiHttps.KeyFile = NoneAsEmpty(v), static o => EmptyAsNone(o.ApiHttps.KeyFile)),
        new(ApiHttpsSection, "api-https-password", "PASSWORD", "Password of the PFX file or of an encrypted PEM key; none for no password.",
            static (o, v) => o.ApiHttps.Password = NoneAsEmpty(v), static o => o.ApiHttps.Password.Length == 0 ? "none" : "(set)"),

        // Cloud-edge channel
        new(ChannelSection, "channel", "true|false", "Whether the cloud-edge channel is served (Bearer tokens from POST /api/login).",
            static (o, v) => o.ChannelEnabled = ParseBool(v), static o => Format(o.ChannelEnabled)),
        new(ChannelSection, "channel-user", "NAME:PASSWORD", "Adds a channel user who may log in (JSON: {\"username\",\"password\"}).",
            static (o, v) => o.ChannelUsers.Add(ChannelBootstrap.ParseUser(v)), static o => FormatCount(o.ChannelUsers.Count), isList: true),
        new(ChannelSection, "channel-cluster", "ID,URL[,APPID,SECRET]", "Registers a broker cluster's management API (JSON: {\"id\",\"url\",\"username\",\"password\"}); 'local' is this broker.",
            static (o, v) => o.ChannelClusters.Add(ChannelBootstrap.ParseTarget(v, Broker.Http.Channel.ChannelTargetKind.Cluster)), static o => FormatCount(o.ChannelClusters.Count), isList: true),
        new(ChannelSection, "channel-edge-service", "ID,URL[,USERNAME,PASSWORD]", "Registers an edge service's HTTP API (JSON as for clusters).",
            static (o, v) => o.ChannelEdgeServices.Add(ChannelBootstrap.ParseTarget(v, Broker.Http.Channel.ChannelTargetKind.EdgeService)), static o => FormatCount(o.ChannelEdgeServices.Count), isList: true),
        new(ChannelSection, "channel-token-ttl", "SECONDS", "How long an access token is accepted.",
            static (o, v) => o.Channel.AccessTokenLifetime = ParseSeconds(v), static o => Format(o.Channel.AccessTokenLifetime)),
        new(ChannelSection, "channel-refresh-ttl", "SECONDS", "How long a refresh token may be traded for a new pair (POST /api/login/refresh).",
            static (o, v) => o.Channel.RefreshTokenLifetime = ParseSeconds(v), static o => Format(o.Channel.RefreshTokenLifetime)),
        new(ChannelSection, "channel-upstream-timeout", "SECONDS", "How long an upstream may take to answer (headers) before the caller gets 504.",
            static (o, v) => o.Channel.UpstreamTimeout = ParseSeconds(v), static o => Format(o.Channel.UpstreamTimeout)),

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
        new(MqttSection, "max-output-buffer-size", "BYTES", "QoS 0 bytes waiting per connection for a client that does not read; beyond it they are dropped (delivery.dropped.qos0_msg); 0 = no byte limit.",
            static (o, v) => o.Broker.MaximumOutputBufferSize = ParseInt(v), static o => Format(o.Broker.MaximumOutputBufferSize)),
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
        new(MqttSection, "rule-action-queue-length", "N", "Matched rules whose actions may wait to run; when full, their actions fail (actions.failure) and publishing goes on.",
            static (o, v) => o.Broker.RuleActionQueueLength = ParseInt(v), static o => Format(o.Broker.RuleActionQueueLength)),
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
        new(SecuritySection, "enable-flapping-detect", "true|false", "Whether a client id that disconnects too often is banned for a while (zone.external.enable_flapping_detect).",
            static (o, v) => o.Broker.EnableFlappingDetect = ParseBool(v), static o => Format(o.Broker.EnableFlappingDetect)),
        new(SecuritySection, "flapping-detect-policy", "COUNT,WINDOW,BAN", "Disconnects within a window that ban a client id, and for how long (flapping_detect_policy); durations in s, m or h, e.g. 30,1m,5m.",
            static (o, v) => o.Broker.FlappingDetectPolicy = ParseFlappingPolicy(v), static o => FormatFlappingPolicy(o.Broker.FlappingDetectPolicy)),
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
