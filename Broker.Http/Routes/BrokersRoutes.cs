using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary><c>/brokers</c> and <c>/nodes</c>: this node's identity and process figures.</summary>
internal static class BrokersRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/brokers", "list_brokers", "A list of brokers in the cluster", ListBrokers)
            .Get("/brokers/{node}", "lookup_broker", "Get broker info of a node", LookupBroker)
            .Get("/nodes", "list_nodes", "A list of nodes in the cluster", ListNodes)
            .Get("/nodes/{node}", "lookup_node", "Lookup a node in the cluster", LookupNode);
    }

    public static void MapV3(RouteTable routes)
    {
        routes
            .Get("/brokers", "list_brokers", "A list of brokers in the cluster", static call => V3.Raw<IReadOnlyList<BrokerDto>>([Broker(call.Context)], HttpJsonContext.Default.IReadOnlyListBrokerDto))
            .Get("/brokers/{node}", "get_broker", "Get broker info of a node", static call => V3.Raw(Broker(call.Context), HttpJsonContext.Default.BrokerDto))
            .Get("/nodes", "list_nodes", "A list of nodes in the cluster", static call => V3.Raw<IReadOnlyList<NodeDto>>([Node(call.Context, asText: true, v3: true)], HttpJsonContext.Default.IReadOnlyListNodeDto))
            .Get("/nodes/{node}", "get_node", "Lookup a node in the cluster", static call => V3.Raw(Node(call.Context, asText: false, v3: true), HttpJsonContext.Default.NodeDto));
    }

    public static BrokerDto Broker(ManagementContext context) => new()
    {
        Datetime = NodeInfo.FormatDateTime(context.TimeProvider.GetLocalNow()),
        Node = context.NodeName,
        NodeStatus = NodeInfo.Status,
        OtpRelease = NodeInfo.RuntimeRelease,
        Sysdescr = NodeInfo.SystemDescription,
        Uptime = NodeInfo.FormatUptime(context.Node.Uptime),
        Version = NodeInfo.Version,
    };

    /// <param name="context">The API's services.</param>
    /// <param name="asText">Memory as <c>"96.75M"</c> (the lists) rather than bytes (one node), as the documents show.</param>
    /// <param name="v3">Add v3's <c>name</c>.</param>
    public static NodeDto Node(ManagementContext context, bool asText, bool v3)
    {
        (string load1, string load5, string load15) = NodeInfo.LoadAverages;
        long total = NodeInfo.MemoryTotal;
        long used = NodeInfo.MemoryUsed;
        return new NodeDto
        {
            Name = v3 ? context.NodeName : null,
            Node = context.NodeName,
            NodeStatus = NodeInfo.Status,
            OtpRelease = NodeInfo.RuntimeRelease,
            Version = NodeInfo.Version,
            Uptime = NodeInfo.FormatUptime(context.Node.Uptime),
            MemoryTotal = asText ? JsonValues.String(NodeInfo.FormatBytes(total)) : JsonValues.Number(total),
            MemoryUsed = asText ? JsonValues.String(NodeInfo.FormatBytes(used)) : JsonValues.Number(used),
            ProcessAvailable = NodeInfo.ProcessAvailable,
            ProcessUsed = NodeInfo.ProcessUsed,
            MaxFds = NodeInfo.MaxFileDescriptors,
            Connections = context.Node.Connections,
            Load1 = load1,
            Load5 = load5,
            Load15 = load15,
        };
    }

    private static ApiResponse ListBrokers(ApiCall call)
        => V4.Ok<IReadOnlyList<BrokerDto>>([Broker(call.Context)], HttpJsonContext.Default.IReadOnlyListBrokerDto);

    private static ApiResponse LookupBroker(ApiCall call) => V4.Ok(Broker(call.Context), HttpJsonContext.Default.BrokerDto);

    private static ApiResponse ListNodes(ApiCall call)
        => V4.Ok<IReadOnlyList<NodeDto>>([Node(call.Context, asText: true, v3: false)], HttpJsonContext.Default.IReadOnlyListNodeDto);

    private static ApiResponse LookupNode(ApiCall call) => V4.Ok(Node(call.Context, asText: false, v3: false), HttpJsonContext.Default.NodeDto);
}
