using Broker.Core.Snapshots;
using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// <c>/routes</c> (paged as EMQX's <c>paginate/3</c>: page, limit, count, no hasnext) and <c>/routes/{topic}</c>, the
/// topic URL-encoded (<c>a%2Fb%2Fc</c>) or, as the v3 document writes it, with its slashes.
/// </summary>
internal static class RoutesRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/routes", "list_routes", "List routes", List)
            .Get("/routes/{*topic}", "lookup_routes", "Lookup routes to a topic", Lookup);
    }

    public static PageResult<RouteDto> Page(ApiCall call)
        => Paging.Apply(call.Context.Broker.GetRoutes(), Paging.Parse(call.Query), filter: null, static r => new RouteDto(r.Topic, r.Node), reportHasNext: false);

    public static List<RouteDto> Find(ApiCall call)
    {
        string topic = call.Route("topic");
        var data = new List<RouteDto>();
        foreach (RouteSnapshot route in call.Context.Broker.GetRoutes())
        {
            if (string.Equals(route.Topic, topic, StringComparison.Ordinal))
            {
                data.Add(new RouteDto(route.Topic, route.Node));
            }
        }

        return data;
    }

    private static ApiResponse List(ApiCall call) => V4.Page(Page(call), HttpJsonContext.Default.RouteDto);

    private static ApiResponse Lookup(ApiCall call) => V4.Ok<IReadOnlyList<RouteDto>>(Find(call), HttpJsonContext.Default.IReadOnlyListRouteDto);
}
