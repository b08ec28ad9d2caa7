using System.Text.Json;
using System.Text.Json.Serialization;

namespace Broker.Http.Json;

// The bodies of the management API. Field names, nesting and JSON types follow the examples of the v4 and v3
// documents (spec/v4-http-api.md, spec/v3-rest-api.rst); names are snake_case through HttpJsonContext's policy unless
// spelled out.

/// <summary>One entry of <c>GET /api/v4</c> and <c>GET /api/v3/</c>.</summary>
public sealed record RouteInfoDto(string Name, string Method, string Path, string Descr);

/// <summary><c>/brokers</c>.</summary>
public sealed class BrokerDto
{
    public required string Datetime { get; init; }
    public required string Node { get; init; }
    public required string NodeStatus { get; init; }
    public required string OtpRelease { get; init; }
    public required string Sysdescr { get; init; }
    public required string Uptime { get; init; }
    public required string Version { get; init; }
}

/// <summary>
/// <c>/nodes</c>: memory as text (<c>"96.75M"</c>) in the list, as bytes for one node, as both documents show;
/// <see cref="Name"/> only in v3.
/// </summary>
public sealed class NodeDto
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
    public required string Node { get; init; }
    public required string NodeStatus { get; init; }
    public required string OtpRelease { get; init; }
    public required string Version { get; init; }
    public required string Uptime { get; init; }
    public required JsonElement MemoryTotal { get; init; }
    public required JsonElement MemoryUsed { get; init; }
    public int ProcessAvailable { get; init; }
    public int ProcessUsed { get; init; }
    public long MaxFds { get; init; }
    public int Connections { get; init; }
    [JsonPropertyName("load1")]
    public required string Load1 { get; init; }
    [JsonPropertyName("load5")]
    public required string Load5 { get; init; }
    [JsonPropertyName("load15")]
    public required string Load15 { get; init; }
}

/// <summary>A v4 client (<c>GET /clients</c>), field for field as the document's example.</summary>
public sealed class ClientDto
{
    public required string Node { get; init; }
    public required string Clientid { get; init; }
    public string? Username { get; init; }
    public required string ProtoName { get; init; }
    public int ProtoVer { get; init; }
    public string? IpAddress { get; init; }
    public int Port { get; init; }
    public bool IsBridge { get; init; }
    public string? ConnectedAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DisconnectedAt { get; init; }
    public bool Connected { get; init; }
    public required string Zone { get; init; }
    public int Keepalive { get; init; }
    public bool CleanStart { get; init; }
    public long ExpiryInterval { get; init; }
    public required string CreatedAt { get; init; }
    public int SubscriptionsCnt { get; init; }
    public int MaxSubscriptions { get; init; }
    public int Inflight { get; init; }
    public int MaxInflight { get; init; }
    public int MqueueLen { get; init; }
    public int MaxMqueue { get; init; }
    public long MqueueDropped { get; init; }
    public int AwaitingRel { get; init; }
    public int MaxAwaitingRel { get; init; }
    public long RecvOct { get; init; }
    public long RecvCnt { get; init; }
    public long RecvPkt { get; init; }
    public long RecvMsg { get; init; }
    public long SendOct { get; init; }
    public long SendCnt { get; init; }
    public long SendPkt { get; init; }
    public long SendMsg { get; init; }
    public int MailboxLen { get; init; }
    public long HeapSize { get; init; }
    public long Reductions { get; init; }
}

/// <summary>A v3 connection (<c>GET /api/v3/connections</c>).</summary>
public sealed class V3ConnectionDto
{
    public bool CleanStart { get; init; }
    public required string ClientId { get; init; }
    public string? ConnectedAt { get; init; }
    public string? Ipaddress { get; init; }
    public bool IsBridge { get; init; }
    public bool IsSuper { get; init; }
    public int Keepalive { get; init; }
    public string Mountpoint { get; init; } = "undefined";
    public required string Node { get; init; }
    public string Peercert { get; init; } = "nossl";
    public int Port { get; init; }
    public required string ProtoName { get; init; }
    public int ProtoVer { get; init; }
    public required string Username { get; init; }
    public string WillTopic { get; init; } = "undefined";
    public required string Zone { get; init; }
}

/// <summary>A v3 session (<c>GET /api/v3/sessions</c>).</summary>
public sealed class V3SessionDto
{
    public int AwaitingRelLen { get; init; }
    public string Binding { get; init; } = "local";
    public bool CleanStart { get; init; }
    public required string ClientId { get; init; }
    public required string CreatedAt { get; init; }
    public long DeliverMsg { get; init; }
    public long EnqueueMsg { get; init; }
    public long ExpiryInterval { get; init; }
    public long HeapSize { get; init; }
    public int InflightLen { get; init; }
    public int MailboxLen { get; init; }
    public int MaxAwaitingRel { get; init; }
    public int MaxInflight { get; init; }
    public int MaxMqueue { get; init; }
    public int MaxSubscriptions { get; init; }
    public long MqueueDropped { get; init; }
    public int MqueueLen { get; init; }
    public required string Node { get; init; }
    public long Reductions { get; init; }
    public int SubscriptionsCount { get; init; }
    public required string Username { get; init; }
}

/// <summary>A v4 subscription: node, clientid, topic, qos.</summary>
public sealed record SubscriptionDto(string Node, string Clientid, string Topic, int Qos);

/// <summary>A v3 subscription: client_id, node, qos, topic.</summary>
public sealed record V3SubscriptionDto(string ClientId, string Node, int Qos, string Topic);

/// <summary>A route: topic, node.</summary>
public sealed record RouteDto(string Topic, string Node);

/// <summary>
/// A listener. <c>shutdown_count</c> is <c>[]</c> until something was counted and then an object of reason to count,
/// as both documents show it (Erlang's empty proplist).
/// </summary>
public sealed class ListenerDto
{
    public int Acceptors { get; init; }
    public required string ListenOn { get; init; }
    public required string Protocol { get; init; }
    public int CurrentConns { get; init; }
    public int MaxConns { get; init; }
    [JsonConverter(typeof(ShutdownCountConverter))]
    public required IReadOnlyDictionary<string, long> ShutdownCount { get; init; }
}

/// <summary><c>GET /listeners</c>: one node's listeners.</summary>
public sealed record NodeListenersDto(string Node, IReadOnlyList<ListenerDto> Listeners);

/// <summary><c>GET /metrics</c>: one node's counters.</summary>
public sealed record NodeMetricsDto(string Node, Dictionary<string, long> Metrics);

/// <summary><c>GET /stats</c>: one node's gauges.</summary>
public sealed record NodeStatsDto(string Node, Dictionary<string, long> Stats);

/// <summary>One result of <c>mqtt/publish_batch</c>.</summary>
public sealed record PublishBatchItemDto(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Topic,
    int Code,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message);

/// <summary>One result of <c>mqtt/subscribe_batch</c> and <c>unsubscribe_batch</c>.</summary>
public sealed record SubscribeBatchItemDto(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Clientid,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Topic,
    int Code);

/// <summary><c>mqtt/publish</c> with <c>return</c>: the message id.</summary>
public sealed record MessageIdDto(string Msgid);

/// <summary><c>mqtt/publish</c> with <c>return</c> and <c>topics</c>: the message ids.</summary>
public sealed record MessageIdsDto(IReadOnlyList<string> Msgids);

/// <summary>An app as <c>GET /apps</c> lists it: never its secret.</summary>
public sealed record AppDto(string AppId, string Name, string Desc, bool Status, long? Expired);

/// <summary>The answer to <c>POST /apps</c>: the secret, shown this once.</summary>
public sealed record AppSecretDto(string Secret);

/// <summary>Writes an empty count table as <c>[]</c> and a filled one as an object.</summary>
public sealed class ShutdownCountConverter : JsonConverter<IReadOnlyDictionary<string, long>>
{
    public override IReadOnlyDictionary<string, long> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => throw new NotSupportedException("shutdown_count is written, never read.");

    public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, long> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Count == 0)
        {
            writer.WriteStartArray();
            writer.WriteEndArray();
            return;
        }

        writer.WriteStartObject();
        foreach (KeyValuePair<string, long> pair in value)
        {
            writer.WriteNumber(pair.Key, pair.Value);
        }

        writer.WriteEndObject();
    }
}

/// <summary>A channel user as <c>GET /channel/users</c> lists it: never the password. <c>source</c>: config or api.</summary>
public sealed record ChannelUserDto(string Username, string Source);

/// <summary>A cluster or edge service as the channel lists it: never its password. <c>source</c>: builtin, config or api.</summary>
public sealed record ChannelTargetDto(string Id, string Url, string? Username, string Source);
