using Broker.Core.Protocol;

namespace Broker.Core.Configuration;

/// <summary>How a shared subscription group picks the member that receives a message.</summary>
public enum SharedSubscriptionStrategy
{
    /// <summary>A random member (EMQX's default).</summary>
    Random,
    /// <summary>Members in turn.</summary>
    RoundRobin,
    /// <summary>The same member until it leaves.</summary>
    Sticky,
    /// <summary>A member chosen by a hash of the publisher's client id.</summary>
    HashClientId,
    /// <summary>A member chosen by a hash of the topic.</summary>
    HashTopic,
}

/// <summary>
/// Broker behaviour and limits. Every default is EMQX 4.4's zone default (etc/emqx.conf, <c>zone.external.*</c>)
/// unless the comment says otherwise. Setters check their values, so a bad config fails at start.
/// Options may be changed while running; a change applies to connections accepted after it.
/// </summary>
public sealed partial class BrokerOptions
{
    private string _nodeName = "broker@127.0.0.1";
    private int _maximumPacketSize = 1024 * 1024;
    private int _maximumClientIdLength = 65535;
    private int _maximumTopicLevels = 128;
    private QualityOfService _maximumQoS = QualityOfService.ExactlyOnce;
    private int _maximumTopicAlias = 65535;
    private int _maximumSubscriptions;
    private int _maximumInflight = 32;
    private int _maximumQueueLength = 1000;
    private int _maximumOutputBufferSize = 16 * 1024 * 1024;
    private int _maximumAwaitingRel = 100;
    private TimeSpan _awaitRelTimeout = TimeSpan.FromSeconds(300);
    private TimeSpan _retryInterval = TimeSpan.FromSeconds(30);
    private TimeSpan _sessionExpiryInterval = TimeSpan.FromHours(2);
    private TimeSpan _connectTimeout = TimeSpan.FromSeconds(15);
    private int _maximumKeepAlive = 65535;
    private int _serverKeepAlive;
    private TimeSpan _sysInterval = TimeSpan.FromMinutes(1);
    private int _maximumRetainedMessages;
    private int _maximumRetainedPayloadSize = 1024 * 1024;
    private int _ruleActionQueueLength = 10_000;

    /// <summary>This broker's node name, as EMQX's <c>node.name</c>: used in $SYS topics and the management API.</summary>
    public string NodeName
    {
        get => _nodeName;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            if (value.Contains('/', StringComparison.Ordinal) || value.Contains('+', StringComparison.Ordinal) || value.Contains('#', StringComparison.Ordinal))
            {
                throw new ArgumentException("The node name appears in $SYS topics and must not contain '/', '+' or '#'.", nameof(value));
            }

            _nodeName = value;
        }
    }

    /// <summary><c>mqtt.max_packet_size</c>, 1 MB. Larger packets from clients are refused with 0x95.</summary>
    public int MaximumPacketSize
    {
        get => _maximumPacketSize;
        set => _maximumPacketSize = CheckRange(value, 16, 268_435_455 + 5);
    }

    /// <summary><c>mqtt.max_clientid_len</c>, 65535.</summary>
    public int MaximumClientIdLength
    {
        get => _maximumClientIdLength;
        set => _maximumClientIdLength = CheckRange(value, 23, 65535);
    }

    /// <summary><c>mqtt.max_topic_levels</c>, 128; 0 means no limit.</summary>
    public int MaximumTopicLevels
    {
        get => _maximumTopicLevels;
        set => _maximumTopicLevels = CheckRange(value, 0, 65535);
    }

    /// <summary><c>mqtt.max_qos_allowed</c>, 2. Sent as Maximum QoS in the v5 CONNACK.</summary>
    public QualityOfService MaximumQoS
    {
        get => _maximumQoS;
        set => _maximumQoS = value <= QualityOfService.ExactlyOnce ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "QoS is 0, 1 or 2.");
    }

    /// <summary><c>mqtt.max_topic_alias</c>, 65535; 0 disables topic aliases from clients.</summary>
    public int MaximumTopicAlias
    {
        get => _maximumTopicAlias;
        set => _maximumTopicAlias = CheckRange(value, 0, 65535);
    }

    /// <summary><c>max_subscriptions</c> per session, 0 (no limit).</summary>
    public int MaximumSubscriptions
    {
        get => _maximumSubscriptions;
        set => _maximumSubscriptions = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary><c>max_inflight</c>, 32: unacknowledged QoS 1/2 deliveries per session, further limited by the client's Receive Maximum.</summary>
    public int MaximumInflight
    {
        get => _maximumInflight;
        set => _maximumInflight = CheckRange(value, 1, 65535);
    }

    /// <summary><c>max_mqueue_len</c>, 1000: messages queued for a session beyond its inflight window; the oldest is dropped when full.</summary>
    public int MaximumQueueLength
    {
        get => _maximumQueueLength;
        set => _maximumQueueLength = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary>
    /// Bytes of QoS 0 publishes (topic, properties and payload) waiting to be written to one connection, 16 MB; beyond it
    /// new QoS 0 publishes to that connection are dropped and counted (<c>delivery.dropped.qos0_msg</c>), so a client
    /// that stops reading costs at most this plus the transport's write buffer. QoS 1/2 are bounded by
    /// <see cref="MaximumInflight"/> and <see cref="MaximumQueueLength"/> instead. 0 means only the count limit. Not an
    /// EMQX option (EMQX bounds a stuck socket with <c>send_timeout</c>).
    /// </summary>
    public int MaximumOutputBufferSize
    {
        get => _maximumOutputBufferSize;
        set => _maximumOutputBufferSize = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary><c>mqueue_store_qos0</c>, true: QoS 0 messages are queued for offline sessions too.</summary>
    public bool QueueQoS0Messages { get; set; } = true;

    /// <summary><c>max_awaiting_rel</c>, 100: incoming QoS 2 messages waiting for PUBREL.</summary>
    public int MaximumAwaitingRel
    {
        get => _maximumAwaitingRel;
        set => _maximumAwaitingRel = CheckRange(value, 1, 65535);
    }

    /// <summary><c>await_rel_timeout</c>, 300 s: an incoming QoS 2 message whose PUBREL never comes is forgotten after this.</summary>
    public TimeSpan AwaitRelTimeout
    {
        get => _awaitRelTimeout;
        set => _awaitRelTimeout = CheckPositive(value);
    }

    /// <summary><c>retry_interval</c>, 30 s: unacknowledged QoS 1/2 deliveries are resent (DUP) after this, on 3.1/3.1.1 connections.</summary>
    public TimeSpan RetryInterval
    {
        get => _retryInterval;
        set => _retryInterval = CheckPositive(value);
    }

    /// <summary><c>session_expiry_interval</c>, 2 h: how long a 3.1.1 persistent session (clean session 0) outlives its connection.</summary>
    public TimeSpan SessionExpiryInterval
    {
        get => _sessionExpiryInterval;
        set => _sessionExpiryInterval = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative.");
    }

    /// <summary><c>idle_timeout</c>, 15 s: a connection that sends no CONNECT in this time is closed.</summary>
    public TimeSpan ConnectTimeout
    {
        get => _connectTimeout;
        set => _connectTimeout = CheckPositive(value);
    }

    /// <summary>The largest keep alive (seconds) accepted; a v5 client asking more is told Server Keep Alive = this, a 3.1/3.1.1 client is refused (mosquitto). 65535 (no cap).</summary>
    public int MaximumKeepAlive
    {
        get => _maximumKeepAlive;
        set => _maximumKeepAlive = CheckRange(value, 1, 65535);
    }

    /// <summary><c>server_keepalive</c>: when not 0, every v5 client is told to use this keep alive. 0 (off).</summary>
    public int ServerKeepAlive
    {
        get => _serverKeepAlive;
        set => _serverKeepAlive = CheckRange(value, 0, 65535);
    }

    /// <summary><c>retain_available</c>, true.</summary>
    public bool RetainAvailable { get; set; } = true;

    /// <summary><c>wildcard_subscription</c>, true.</summary>
    public bool WildcardSubscriptionAvailable { get; set; } = true;

    /// <summary><c>shared_subscription</c>, true.</summary>
    public bool SharedSubscriptionAvailable { get; set; } = true;

    /// <summary>Whether v5 subscription identifiers are available, true.</summary>
    public bool SubscriptionIdentifierAvailable { get; set; } = true;

    /// <summary><c>broker.shared_subscription_strategy</c>, random.</summary>
    public SharedSubscriptionStrategy SharedSubscriptionStrategy { get; set; } = SharedSubscriptionStrategy.Random;

    /// <summary><c>allow_anonymous</c>, true: clients without credentials may connect when no user database says otherwise.</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary><c>ignore_loop_deliver</c>, false: when true, a client never receives its own publishes (as v5 No Local for every subscription).</summary>
    public bool IgnoreLoopDeliver { get; set; }

    /// <summary><c>broker.sys_interval</c>, 1 min: period of the $SYS statistics; zero disables them.</summary>
    public TimeSpan SysInterval
    {
        get => _sysInterval;
        set => _sysInterval = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative.");
    }

    /// <summary><c>retainer.max_retained_messages</c>, 0 (no limit).</summary>
    public int MaximumRetainedMessages
    {
        get => _maximumRetainedMessages;
        set => _maximumRetainedMessages = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary><c>retainer.max_payload_size</c>, 1 MB: larger retained payloads are published but not stored.</summary>
    public int MaximumRetainedPayloadSize
    {
        get => _maximumRetainedPayloadSize;
        set => _maximumRetainedPayloadSize = CheckRange(value, 0, int.MaxValue);
    }

    /// <summary>Whether <c>$delayed/&lt;seconds&gt;/&lt;topic&gt;</c> publishes are held back (EMQX's delayed publish module), true.</summary>
    public bool DelayedPublishEnabled { get; set; } = true;

    /// <summary>Whether $SYS topics are published, true.</summary>
    public bool SysTopicsEnabled { get; set; } = true;

    /// <summary>
    /// Matched rules whose actions may wait to run, 10,000 (our choice: EMQX runs actions in the publishing process).
    /// A rule that matches while the queue is full counts its actions as <c>actions.failure</c>; publishing never waits.
    /// </summary>
    public int RuleActionQueueLength
    {
        get => _ruleActionQueueLength;
        set => _ruleActionQueueLength = CheckRange(value, 1, 10_000_000);
    }

    /// <summary>Whether the retainer module stores retained messages, true.</summary>
    public bool RetainerEnabled { get; set; } = true;

    private static int CheckRange(int value, int min, int max, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Must be between {min} and {max}.");
        }

        return value;
    }

    private static TimeSpan CheckPositive(TimeSpan value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
        => value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
}
