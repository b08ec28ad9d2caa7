using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// <c>/listeners</c>, <c>/metrics</c> and <c>/stats</c>, cluster-wide (a list with one entry per node) and for one node
/// (that node's entry alone). Metrics and stats are the broker's live counters and gauges, by their EMQX names.
/// </summary>
internal static class ObservabilityRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/listeners", "list_listeners", "A list of listeners in the cluster", static call =>
                V4.Ok<IReadOnlyList<NodeListenersDto>>([new NodeListenersDto(call.Context.NodeName, Listeners(call.Context))], HttpJsonContext.Default.IReadOnlyListNodeListenersDto))
            .Get("/nodes/{node}/listeners", "list_node_listeners", "A list of listeners on the node", static call =>
                V4.Ok(Listeners(call.Context), HttpJsonContext.Default.IReadOnlyListListenerDto))
            .Get("/metrics", "list_all_metrics", "A list of metrics of all nodes in the cluster", static call =>
                V4.Ok<IReadOnlyList<NodeMetricsDto>>([new NodeMetricsDto(call.Context.NodeName, Metrics(call.Context, v3: false))], HttpJsonContext.Default.IReadOnlyListNodeMetricsDto))
            .Get("/nodes/{node}/metrics", "list_node_metrics", "A list of metrics of a node", static call =>
                V4.Ok(Metrics(call.Context, v3: false), HttpJsonContext.Default.DictionaryStringInt64))
            .Get("/stats", "list_stats", "A list of stats of all nodes in the cluster", static call =>
                V4.Ok<IReadOnlyList<NodeStatsDto>>([new NodeStatsDto(call.Context.NodeName, Stats(call.Context, v3: false))], HttpJsonContext.Default.IReadOnlyListNodeStatsDto))
            .Get("/nodes/{node}/stats", "lookup_node_stats", "A list of stats of a node", static call =>
                V4.Ok(Stats(call.Context, v3: false), HttpJsonContext.Default.DictionaryStringInt64));
    }

    public static IReadOnlyList<ListenerDto> Listeners(ManagementContext context)
    {
        var listeners = new List<ListenerDto>();
        foreach (IListenerInfo listener in context.Listeners)
        {
            listeners.Add(new ListenerDto
            {
                Acceptors = listener.Acceptors,
                ListenOn = listener.ListenOn,
                Protocol = listener.Protocol,
                CurrentConns = listener.CurrentConnections,
                MaxConns = listener.MaxConnections,
                ShutdownCount = listener.ShutdownCounts,
            });
        }

        return listeners;
    }

    /// <summary>Every counter by its v4 (<c>packets.publish.received</c>) or v3 (<c>packets/publish/received</c>) name.</summary>
    public static Dictionary<string, long> Metrics(ManagementContext context, bool v3) => ToDictionary(context.Broker.Counters.Snapshot(v3));

    /// <summary>Every gauge's <c>.count</c> and <c>.max</c> (v3: <c>/count</c>, <c>/max</c>).</summary>
    public static Dictionary<string, long> Stats(ManagementContext context, bool v3) => ToDictionary(context.Broker.Stats.Snapshot(v3));

    private static Dictionary<string, long> ToDictionary(IReadOnlyList<KeyValuePair<string, long>> pairs)
    {
        var result = new Dictionary<string, long>(pairs.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, long> pair in pairs)
        {
            result[pair.Key] = pair.Value;
        }

        return result;
    }
}
