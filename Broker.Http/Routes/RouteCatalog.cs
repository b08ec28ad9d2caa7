using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>Every route group of the API, in the order <c>GET /api/v4</c> lists them. Add a group with one line here.</summary>
internal static class RouteCatalog
{
    public static void MapV4(RouteTable routes)
    {
        BrokersRoutes.Map(routes);
        ClientsRoutes.Map(routes);
        SubscriptionsRoutes.Map(routes);
        RoutesRoutes.Map(routes);
        PubSubRoutes.Map(routes);
        ObservabilityRoutes.Map(routes);
        PrometheusRoutes.Map(routes);
        AppsRoutes.Map(routes);
        AuthRoutes.Map(routes);
        AclRoutes.Map(routes);
        BannedRoutes.Map(routes);
        PluginsRoutes.Map(routes);
        AlarmsRoutes.Map(routes);
        ChannelRoutes.Map(routes);
        RuleRoutes.Map(routes);
    }

    public static void MapV3(RouteTable routes)
    {
        V3Api.V3Routes.Map(routes);
        PluginsRoutes.MapV3(routes);
        ConfigsRoutes.MapV3(routes);
        AlarmsRoutes.MapV3(routes);
        BannedRoutes.MapV3(routes);
    }
}
