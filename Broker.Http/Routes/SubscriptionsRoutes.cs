using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary><c>/subscriptions</c> and <c>/nodes/{node}/subscriptions</c>: list with filters and paging, per client.</summary>
internal static class SubscriptionsRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/subscriptions", "list_subscriptions", "A list of subscriptions in the cluster", List)
            .Get("/subscriptions/{clientid}", "lookup_client_subscriptions", "A list of subscriptions of a client", OfClient)
            .Get("/nodes/{node}/subscriptions", "list_node_subscriptions", "A list of subscriptions on a node", List)
            .Get("/nodes/{node}/subscriptions/{clientid}", "lookup_client_subscriptions_with_node", "A list of subscriptions of a client on the node", OfClient);
    }

    private static ApiResponse List(ApiCall call)
    {
        PageRequest page = Paging.Parse(call.Query);
        string node = call.Context.NodeName;
        PageResult<SubscriptionDto> result = SubscriptionRow.Page(
            call.Context.Broker, page, SubscriptionRow.ParseFilter(call.Query), r => new SubscriptionDto(node, r.ClientId, r.Topic, r.QoS));
        return V4.Page(result, HttpJsonContext.Default.SubscriptionDto);
    }

    private static ApiResponse OfClient(ApiCall call)
    {
        string node = call.Context.NodeName;
        var data = new List<SubscriptionDto>();
        foreach (SubscriptionRow r in SubscriptionRow.Of(call.Context.Broker, call.Route("clientid")))
        {
            data.Add(new SubscriptionDto(node, r.ClientId, r.Topic, r.QoS));
        }

        return V4.Ok<IReadOnlyList<SubscriptionDto>>(data, HttpJsonContext.Default.IReadOnlyListSubscriptionDto);
    }
}
