using System.Text.Json;
using Broker.Core.Security;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// Plugins, mapped onto the broker's switchable modules (<see cref="BrokerModules"/>). v3: the lists bare, load and
/// unload answering <c>"ok"</c> or a 500 <c>{"message":"already_started"|"not_started"|"not_found"}</c> as the v3
/// document's error example; v4 (EMQX 4.4): the same in the v4 envelope with codes 110/111.
/// </summary>
internal static class PluginsRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/plugins", "list_all_plugins", "List all plugins in the cluster", ListV4)
            .Get("/nodes/{node}/plugins", "list_node_plugins", "List all plugins on a node", ListNodeV4)
            .Put("/nodes/{node}/plugins/{plugin}/load", "load_plugin", "Load a plugin", call => SwitchV4(call, load: true))
            .Put("/nodes/{node}/plugins/{plugin}/unload", "unload_plugin", "Unload a plugin", call => SwitchV4(call, load: false))
            .Put("/nodes/{node}/plugins/{plugin}/reload", "reload_plugin", "Reload a plugin", ReloadV4)
            .Put("/plugins/{plugin}/load", "load_cluster_plugin", "Load a plugin in the cluster", call => SwitchV4(call, load: true))
            .Put("/plugins/{plugin}/unload", "unload_cluster_plugin", "Unload a plugin in the cluster", call => SwitchV4(call, load: false))
            .Put("/plugins/{plugin}/reload", "reload_cluster_plugin", "Reload a plugin in the cluster", ReloadV4);
    }

    public static void MapV3(RouteTable routes)
    {
        routes
            .Get("/plugins", "list_all_plugins", "List all plugins in the cluster", ListV3)
            .Get("/nodes/{node}/plugins", "list_node_plugins", "List all plugins on a node", ListNodeV3)
            .Put("/nodes/{node}/plugins/{plugin}/load", "load_plugin", "Load a plugin", call => SwitchV3(call, load: true))
            .Put("/nodes/{node}/plugins/{plugin}/unload", "unload_plugin", "Unload a plugin", call => SwitchV3(call, load: false));
    }

    private static void WritePlugin(Utf8JsonWriter writer, ModuleInfo module)
    {
        writer.WriteStartObject();
        writer.WriteString("name", module.Name);
        writer.WriteString("version", module.Version);
        writer.WriteString("description", module.Description);
        writer.WriteBoolean("active", module.Active);
        writer.WriteString("type", "feature");
        writer.WriteEndObject();
    }

    private static void WriteNodePlugins(Utf8JsonWriter writer, (string Node, IReadOnlyList<ModuleInfo> Plugins) state)
    {
        writer.WriteStartArray();
        writer.WriteStartObject();
        writer.WriteString("node", state.Node);
        writer.WritePropertyName("plugins");
        SecurityJson.WriteArray(writer, state.Plugins, WritePlugin);
        writer.WriteEndObject();
        writer.WriteEndArray();
    }

    private static ApiResponse ListV4(ApiCall call)
        => SecurityJson.V4Data((call.Context.NodeName, call.Context.Broker.Modules.List()), WriteNodePlugins);

    private static ApiResponse ListNodeV4(ApiCall call)
        => SecurityJson.IsOtherNode(call, call.Route("node"))
            ? ApiResponse.NotFound()
            : SecurityJson.V4List(call.Context.Broker.Modules.List(), WritePlugin);

    private static ApiResponse SwitchV4(ApiCall call, bool load)
    {
        if (call.RouteValues.TryGet("node", out string? node) && SecurityJson.IsOtherNode(call, node))
        {
            return ApiResponse.NotFound();
        }

        BrokerModules modules = call.Context.Broker.Modules;
        string plugin = call.Route("plugin");
        return (load ? modules.Load(plugin) : modules.Unload(plugin)) switch
        {
            ModuleChange.Done => V4.Ok(),
            ModuleChange.AlreadyLoaded => V4.Error(ResultCode.PluginAlreadyLoaded, "already_started"),
            ModuleChange.AlreadyUnloaded => V4.Error(ResultCode.PluginAlreadyUnloaded, "not_started"),
            ModuleChange.NotAllowed => V4.Error(ResultCode.Unknown, "not_allowed"),
            _ => V4.Error(ResultCode.Unknown, "not_found"),
        };
    }

    // A reload of a switch: off and on again.
    private static ApiResponse ReloadV4(ApiCall call)
    {
        if (call.RouteValues.TryGet("node", out string? node) && SecurityJson.IsOtherNode(call, node))
        {
            return ApiResponse.NotFound();
        }

        BrokerModules modules = call.Context.Broker.Modules;
        string plugin = call.Route("plugin");
        if (modules.Find(plugin) is null)
        {
            return V4.Error(ResultCode.Unknown, "not_found");
        }

        modules.Unload(plugin);
        modules.Load(plugin);
        return V4.Ok();
    }

    private static ApiResponse ListV3(ApiCall call)
        => SecurityJson.Raw((call.Context.NodeName, call.Context.Broker.Modules.List()), WriteNodePlugins);

    private static ApiResponse ListNodeV3(ApiCall call)
        => SecurityJson.IsOtherNode(call, call.Route("node"))
            ? ApiResponse.NotFound()
            : SecurityJson.Raw(call.Context.Broker.Modules.List(), static (writer, list) => SecurityJson.WriteArray(writer, list, WritePlugin));

    private static ApiResponse SwitchV3(ApiCall call, bool load)
    {
        if (SecurityJson.IsOtherNode(call, call.Route("node")))
        {
            return ApiResponse.NotFound();
        }

        BrokerModules modules = call.Context.Broker.Modules;
        string plugin = call.Route("plugin");
        return (load ? modules.Load(plugin) : modules.Unload(plugin)) switch
        {
            ModuleChange.Done => V3.String("ok"),
            ModuleChange.AlreadyLoaded => ErrorV3("already_started"),
            ModuleChange.AlreadyUnloaded => ErrorV3("not_started"),
            ModuleChange.NotAllowed => ErrorV3("not_allowed"),
            _ => ErrorV3("not_found"),
        };
    }

    private static ApiResponse ErrorV3(string message)
        => ApiResponse.Json(500, message, static (writer, m) =>
        {
            writer.WriteStartObject();
            writer.WriteString("message", m);
            writer.WriteEndObject();
        });
}
