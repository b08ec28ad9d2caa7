using Broker.Core;
using Broker.Core.Snapshots;
using Broker.Http.Json;

namespace Broker.Http.Routes;

/// <summary>
/// One row of <c>/clients</c>: a connected client, or a session whose client is away (EMQX lists those too, with
/// <c>connected: false</c> and <c>conn_state: disconnected</c>).
/// </summary>
internal sealed class ClientRow
{
    /// <summary>EMQX's zone of every external listener.</summary>
    public const string Zone = "external";

    private ClientRow(ClientSnapshot? client, SessionSnapshot session)
    {
        Client = client;
        Session = session;
    }

    public ClientSnapshot? Client { get; }

    public SessionSnapshot Session { get; }

    public string ClientId => Session.ClientId;

    public string? UserName => Client?.UserName;

    public string? IpAddress => Client?.IpAddress;

    public bool Connected => Client is not null;

    /// <summary>EMQX's <c>conn_state</c>: <c>connected</c> or <c>disconnected</c> (idle connections have no client id yet).</summary>
    public string ConnState => Connected ? "connected" : "disconnected";

    public bool CleanStart => Client?.CleanStart ?? Session.CleanStart;

    public string ProtocolName => Client?.ProtocolName ?? "MQTT";

    public int ProtocolVersion => Client?.ProtocolVersion ?? 0;

    public long CreatedAtSeconds => Session.CreatedAt.ToUnixTimeSeconds();

    public long? ConnectedAtSeconds => Client?.ConnectedAt.ToUnixTimeSeconds();

    /// <summary>Every client and away session, by client id.</summary>
    public static List<ClientRow> All(MqttBroker broker)
    {
        IReadOnlyList<ClientSnapshot> clients = broker.GetClients();
        var rows = new List<ClientRow>(clients.Count);
        var connected = new HashSet<string>(StringComparer.Ordinal);
        foreach (ClientSnapshot client in clients)
        {
            rows.Add(new ClientRow(client, client.Session));
            connected.Add(client.ClientId);
        }

        foreach (SessionSnapshot session in broker.GetSessions())
        {
            if (!session.Connected && !connected.Contains(session.ClientId))
            {
                rows.Add(new ClientRow(null, session));
            }
        }

        rows.Sort(static (a, b) => string.CompareOrdinal(a.ClientId, b.ClientId));
        return rows;
    }

    /// <summary>The client or away session with this id, or null.</summary>
    public static ClientRow? Find(MqttBroker broker, string clientId)
    {
        if (broker.GetClient(clientId) is { } client)
        {
            return new ClientRow(client, client.Session);
        }

        return broker.GetSession(clientId) is { } session ? new ClientRow(null, session) : null;
    }

    public ClientDto ToV4(string node)
    {
        SessionSnapshot s = Session;
        ClientSnapshot? c = Client;
        return new ClientDto
        {
            Node = node,
            Clientid = ClientId,
            Username = UserName,
            ProtoName = ProtocolName,
            ProtoVer = ProtocolVersion,
            IpAddress = IpAddress,
            Port = c?.Port ?? 0,
            IsBridge = false,
            ConnectedAt = c is null ? null : NodeInfo.FormatDateTime(c.ConnectedAt),
            Connected = Connected,
            Zone = Zone,
            Keepalive = c?.KeepAlive ?? 0,
            CleanStart = CleanStart,
            ExpiryInterval = s.ExpiryInterval,
            CreatedAt = NodeInfo.FormatDateTime(s.CreatedAt),
            SubscriptionsCnt = s.SubscriptionCount,
            MaxSubscriptions = s.MaxSubscriptions,
            Inflight = s.Inflight,
            MaxInflight = s.MaxInflight,
            MqueueLen = s.QueueLength,
            MaxMqueue = s.MaxQueue,
            MqueueDropped = s.QueueDropped,
            AwaitingRel = s.AwaitingRel,
            MaxAwaitingRel = s.MaxAwaitingRel,
            RecvOct = c?.ReceivedBytes ?? 0,
            RecvCnt = c?.ReceivedPackets ?? 0,
            RecvPkt = c?.ReceivedPackets ?? 0,
            RecvMsg = c?.ReceivedMessages ?? 0,
            SendOct = c?.SentBytes ?? 0,
            SendCnt = c?.SentPackets ?? 0,
            SendPkt = c?.SentPackets ?? 0,
            SendMsg = c?.SentMessages ?? 0,
        };
    }

    public V3ConnectionDto ToV3Connection(string node)
    {
        ClientSnapshot? c = Client;
        return new V3ConnectionDto
        {
            CleanStart = CleanStart,
            ClientId = ClientId,
            ConnectedAt = c is null ? null : NodeInfo.FormatDateTime(c.ConnectedAt),
            Ipaddress = IpAddress,
            Keepalive = c?.KeepAlive ?? 0,
            Node = node,
            Port = c?.Port ?? 0,
            ProtoName = ProtocolName,
            ProtoVer = ProtocolVersion,
            Username = UserName ?? "undefined",
            Zone = Zone,
        };
    }

    /// <summary>The query filters of <c>GET /clients</c> (EMQX 4.4 <c>?CLIENT_QS_SCHEMA</c>); null when none is present.</summary>
    public static Func<ClientRow, bool>? ParseFilter(QueryString query)
        => new QueryFilter<ClientRow>(query)
            .Exact("clientid", static r => r.ClientId)
            .Exact("username", static r => r.UserName)
            .Exact("zone", static _ => Zone)
            .Exact("ip_address", static r => r.IpAddress)
            .Exact("conn_state", static r => r.ConnState)
            .Bool("clean_start", static r => r.CleanStart)
            .Exact("proto_name", static r => r.ProtocolName)
            .Int("proto_ver", static r => r.ProtocolVersion)
            .Like("_like_clientid", static r => r.ClientId)
            .Like("_like_username", static r => r.UserName)
            .Range("created_at", static r => r.CreatedAtSeconds, ToSeconds)
            .Range("connected_at", static r => r.ConnectedAtSeconds, ToSeconds)
            .Range("mqueue_len", static r => r.Session.QueueLength)
            .Range("mqueue_dropped", static r => r.Session.QueueDropped)
            .Build();

    // EMQX takes seconds; a value only milliseconds can be (after 5138 AD in seconds) is taken as milliseconds.
    private static long ToSeconds(long value) => value > 100_000_000_000 ? value / 1000 : value;
}
