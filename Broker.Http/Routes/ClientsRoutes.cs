using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary><c>/clients</c> and <c>/nodes/{node}/clients</c>: list with filters and paging, lookup, kick.</summary>
internal static class ClientsRoutes
{
    /// <summary>What a kick counts in the listener's <c>shutdown_count</c>.</summary>
    public const string KickedReason = "kicked";

    public static void Map(RouteTable routes)
    {
        routes
            .Get("/clients", "list_clients", "A list of clients on current node", List)
            .Get("/clients/{clientid}", "lookup_client", "Lookup a client in the cluster", Lookup)
            .Delete("/clients/{clientid}", "kickout_client", "Kick out the client", Kick)
            .Get("/clients/username/{username}", "lookup_client_via_username", "Lookup a client via username in the cluster", LookupByUsername)
            .Get("/nodes/{node}/clients", "list_node_clients", "A list of clients on a node", List)
            .Get("/nodes/{node}/clients/{clientid}", "lookup_node_client", "Lookup a client on the node", Lookup)
            .Delete("/nodes/{node}/clients/{clientid}", "kickout_node_client", "Kick out a client on the node", Kick)
            .Get("/nodes/{node}/clients/username/{username}", "lookup_node_client_via_username", "Lookup a client via username on the node", LookupByUsername);
    }

    private static ApiResponse List(ApiCall call)
    {
        PageRequest page = Paging.Parse(call.Query);
        Func<ClientRow, bool>? filter = ClientRow.ParseFilter(call.Query);
        string node = call.Context.NodeName;
        PageResult<ClientDto> result = Paging.Apply(ClientRow.All(call.Context.Broker), page, filter, row => row.ToV4(node));
        return V4.Page(result, HttpJsonContext.Default.ClientDto);
    }

    private static ApiResponse Lookup(ApiCall call)
    {
        ClientRow? row = ClientRow.Find(call.Context.Broker, call.Route("clientid"));
        IReadOnlyList<ClientDto> data = row is null ? [] : [row.ToV4(call.Context.NodeName)];
        return V4.Ok(data, HttpJsonContext.Default.IReadOnlyListClientDto);
    }

    private static ApiResponse LookupByUsername(ApiCall call)
    {
        string username = call.Route("username");
        var data = new List<ClientDto>();
        foreach (ClientRow row in ClientRow.All(call.Context.Broker))
        {
            if (string.Equals(row.UserName, username, StringComparison.Ordinal))
            {
                data.Add(row.ToV4(call.Context.NodeName));
            }
        }

        return V4.Ok<IReadOnlyList<ClientDto>>(data, HttpJsonContext.Default.IReadOnlyListClientDto);
    }

    private static ApiResponse Kick(ApiCall call)
        => KickClient(call.Context, call.Route("clientid")) ? V4.Ok() : V4.Error(ResultCode.ClientNotOnline, "not_found");

    /// <summary>
    /// Disconnects the client (v5: DISCONNECT 0x98) and discards its session, counting <c>kicked</c> on the listener it
    /// came through. False when there is no such client or session.
    /// </summary>
    public static bool KickClient(ManagementContext context, string clientId)
    {
        string? listener = context.Broker.GetClient(clientId)?.Listener;
        if (!context.Broker.Kick(clientId))
        {
            return false;
        }

        if (listener is not null)
        {
            context.FindListener(listener)?.RecordShutdown(KickedReason);
        }

        return true;
    }
}
