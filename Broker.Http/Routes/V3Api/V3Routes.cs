using Broker.Core.Snapshots;
using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes.V3Api;

/// <summary>
/// The v3 routes (<c>/api/v3/...</c>, EMQX 3.x) over the same broker state as v4, in the v3 document's shapes: bare
/// data, pages as <c>{"items","meta"}</c>, <c>client_id</c> instead of <c>clientid</c>, results as <c>{"code":N}</c>,
/// metrics and stats by their slash names (<c>packets/publish/received</c>).
/// </summary>
internal static class V3Routes
{
    public static void Map(RouteTable routes)
    {
        BrokersRoutes.MapV3(routes);
        routes
            .Get("/connections", "list_connections", "A list of connections in the cluster", ListConnections)
            .Get("/connections/{clientid}", "lookup_connections", "Lookup a connection in the cluster", LookupConnection)
            .Delete("/connections/{clientid}", "kickout_connection", "Kick out a connection", KickConnection)
            .Get("/nodes/{node}/connections", "list_node_connections", "A list of connections on a node", ListConnections)
            .Get("/nodes/{node}/connections/{clientid}", "lookup_node_connections", "Lookup a connection on node", LookupConnection)
            .Get("/sessions", "list_sessions", "A list of sessions in the cluster", ListSessions)
            .Get("/sessions/{clientid}", "lookup_session", "Lookup a session in the cluster", LookupSession)
            .Get("/nodes/{node}/sessions", "list_node_sessions", "A list of sessions on a node", ListSessions)
            .Get("/nodes/{node}/sessions/{clientid}", "lookup_node_session", "Lookup a session on the node", LookupSession)
            .Get("/subscriptions", "list_subscriptions", "A list of subscriptions in the cluster", ListSubscriptions)
            .Get("/subscriptions/{clientid}", "lookup_client_subscriptions", "A list of subscriptions of a client", ClientSubscriptions)
            .Get("/nodes/{node}/subscriptions", "list_node_subscriptions", "A list of subscriptions on a node", ListSubscriptions)
            .Get("/nodes/{node}/subscriptions/{clientid}", "lookup_client_subscriptions_with_node", "A list of subscriptions of a client on the node", ClientSubscriptions)
            .Get("/routes", "list_routes", "List routes", static call => V3.Page(RoutesRoutes.Page(call), HttpJsonContext.Default.RouteDto))
            .Get("/routes/{*topic}", "lookup_routes", "Lookup routes to a topic", static call => V3.Raw<IReadOnlyList<RouteDto>>(RoutesRoutes.Find(call), HttpJsonContext.Default.IReadOnlyListRouteDto))
            .Post("/mqtt/publish", "mqtt_publish", "Publish a MQTT message", static call => Result(PubSubRoutes.DoPublish(call.Context.Broker, call.Params, "client_id", defaultClientId: "http")))
            .Post("/mqtt/subscribe", "mqtt_subscribe", "Subscribe a topic", static call => Result(PubSubRoutes.DoSubscribe(call.Context, call.Params, "client_id")))
            .Post("/mqtt/unsubscribe", "mqtt_unsubscribe", "Unsubscribe a topic", static call => Result(PubSubRoutes.DoUnsubscribe(call.Context, call.Params, "client_id")))
            .Get("/listeners", "list_listeners", "A list of listeners in the cluster", static call =>
                V3.Raw<IReadOnlyList<NodeListenersDto>>([new NodeListenersDto(call.Context.NodeName, ObservabilityRoutes.Listeners(call.Context))], HttpJsonContext.Default.IReadOnlyListNodeListenersDto))
            .Get("/nodes/{node}/listeners", "list_node_listeners", "A list of listeners on the node", static call =>
                V3.Raw(ObservabilityRoutes.Listeners(call.Context), HttpJsonContext.Default.IReadOnlyListListenerDto))
            .Get("/metrics", "list_all_metrics", "A list of metrics of all nodes in the cluster", static call =>
                V3.Raw<IReadOnlyList<NodeMetricsDto>>([new NodeMetricsDto(call.Context.NodeName, ObservabilityRoutes.Metrics(call.Context, v3: true))], HttpJsonContext.Default.IReadOnlyListNodeMetricsDto))
            .Get("/nodes/{node}/metrics", "list_node_metrics", "A list of metrics of a node", static call =>
                V3.Raw(ObservabilityRoutes.Metrics(call.Context, v3: true), HttpJsonContext.Default.DictionaryStringInt64))
            .Get("/stats", "list_stats", "A list of stats of all nodes in the cluster", ClusterStats)
            .Get("/nodes/{node}/stats", "lookup_node_stats", "A list of stats of a node", static call =>
                V3.Raw(ObservabilityRoutes.Stats(call.Context, v3: true), HttpJsonContext.Default.DictionaryStringInt64));
    }

    private static ApiResponse Result(PubSubRoutes.Outcome outcome) => V3.Code(outcome.Code);

    private static ApiResponse ListConnections(ApiCall call)
    {
        string node = call.Context.NodeName;
        var connected = new List<ClientRow>();
        foreach (ClientRow row in ClientRow.All(call.Context.Broker))
        {
            if (row.Connected)
            {
                connected.Add(row);
            }
        }

        PageResult<V3ConnectionDto> page = Paging.Apply(connected, Paging.Parse(call.Query), filter: null, r => r.ToV3Connection(node));
        return V3.Page(page, HttpJsonContext.Default.V3ConnectionDto);
    }

    private static ApiResponse LookupConnection(ApiCall call)
    {
        ClientRow? row = ClientRow.Find(call.Context.Broker, call.Route("clientid"));
        IReadOnlyList<V3ConnectionDto> data = row is { Connected: true } ? [row.ToV3Connection(call.Context.NodeName)] : [];
        return V3.Raw(data, HttpJsonContext.Default.IReadOnlyListV3ConnectionDto);
    }

    private static ApiResponse KickConnection(ApiCall call)
        => ClientsRoutes.KickClient(call.Context, call.Route("clientid")) ? V3.String("ok") : V3.Code(ResultCode.ClientNotOnline);

    private static ApiResponse ListSessions(ApiCall call)
    {
        string node = call.Context.NodeName;
        PageResult<V3SessionDto> page = Paging.Apply(ClientRow.All(call.Context.Broker), Paging.Parse(call.Query), filter: null, r => ToSession(r, node));
        return V3.Page(page, HttpJsonContext.Default.V3SessionDto);
    }

    private static ApiResponse LookupSession(ApiCall call)
    {
        ClientRow? row = ClientRow.Find(call.Context.Broker, call.Route("clientid"));
        IReadOnlyList<V3SessionDto> data = row is null ? [] : [ToSession(row, call.Context.NodeName)];
        return V3.Raw(data, HttpJsonContext.Default.IReadOnlyListV3SessionDto);
    }

    private static ApiResponse ListSubscriptions(ApiCall call)
    {
        string node = call.Context.NodeName;
        PageResult<V3SubscriptionDto> page = SubscriptionRow.Page(
            call.Context.Broker, Paging.Parse(call.Query), filter: null, r => new V3SubscriptionDto(r.ClientId, node, r.QoS, r.Topic));
        return V3.Page(page, HttpJsonContext.Default.V3SubscriptionDto);
    }

    private static ApiResponse ClientSubscriptions(ApiCall call)
    {
        string node = call.Context.NodeName;
        var data = new List<V3SubscriptionDto>();
        foreach (SubscriptionRow r in SubscriptionRow.Of(call.Context.Broker, call.Route("clientid")))
        {
            data.Add(new V3SubscriptionDto(r.ClientId, node, r.QoS, r.Topic));
        }

        return V3.Raw<IReadOnlyList<V3SubscriptionDto>>(data, HttpJsonContext.Default.IReadOnlyListV3SubscriptionDto);
    }

    // [{"node":…, "connections/count":…, …}]: v3 puts the node beside the gauges, not above them.
    private static ApiResponse ClusterStats(ApiCall call)
    {
        Dictionary<string, long> stats = ObservabilityRoutes.Stats(call.Context, v3: true);
        return ApiResponse.Json(200, (call.Context.NodeName, stats), static (writer, state) =>
        {
            writer.WriteStartArray();
            writer.WriteStartObject();
            writer.WriteString("node", state.NodeName);
            foreach (KeyValuePair<string, long> pair in state.stats)
            {
                writer.WriteNumber(pair.Key, pair.Value);
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
        });
    }

    private static V3SessionDto ToSession(ClientRow row, string node)
    {
        SessionSnapshot s = row.Session;
        return new V3SessionDto
        {
            AwaitingRelLen = s.AwaitingRel,
            CleanStart = row.CleanStart,
            ClientId = row.ClientId,
            CreatedAt = NodeInfo.FormatDateTime(s.CreatedAt),
            DeliverMsg = row.Client?.SentMessages ?? 0,
            EnqueueMsg = s.QueueLength,
            ExpiryInterval = s.ExpiryInterval,
            InflightLen = s.Inflight,
            MaxAwaitingRel = s.MaxAwaitingRel,
            MaxInflight = s.MaxInflight,
            MaxMqueue = s.MaxQueue,
            MaxSubscriptions = s.MaxSubscriptions,
            MqueueDropped = s.QueueDropped,
            MqueueLen = s.QueueLength,
            Node = node,
            SubscriptionsCount = s.SubscriptionCount,
            Username = row.UserName ?? "undefined",
        };
    }
}
