using System.Text.Json;
using Broker.Core.Security;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// v3 hot configuration (<see cref="HotConfigs"/>): <c>GET /configs</c> lists what may change as
/// <c>[{"config":[{"key","value","datatpye","app"}],"node"}]</c> (the field is spelt <c>datatpye</c> in the contract),
/// <c>PUT /configs/{app}</c> with <c>{"key","value"}</c> changes one item for new connections and answers <c>"ok"</c>;
/// an unknown key, a key of another app or a bad value answers 400 <c>{"message":…}</c>.
/// </summary>
internal static class ConfigsRoutes
{
    public static void MapV3(RouteTable routes)
    {
        routes
            .Get("/configs", "get_all_configs", "Get all modifiable configs", List)
            .Get("/nodes/{node}/configs", "get_node_configs", "Get the modifiable configs of a node", ListNode)
            .Put("/configs/{app}", "update_config", "Update a config item of an app", Update)
            .Put("/nodes/{node}/configs/{app}", "update_node_config", "Update a config item of an app on a node", Update);
    }

    private static void WriteItem(Utf8JsonWriter writer, ConfigItem item)
    {
        writer.WriteStartObject();
        writer.WriteString("key", item.Key);
        writer.WriteString("value", item.Value);
        writer.WriteString("datatpye", item.DataType);
        writer.WriteString("app", item.App);
        writer.WriteEndObject();
    }

    private static ApiResponse List(ApiCall call)
        => SecurityJson.Raw((call.Context.NodeName, call.Context.Broker.Configs.List()), static (writer, state) =>
        {
            writer.WriteStartArray();
            writer.WriteStartObject();
            writer.WritePropertyName("config");
            SecurityJson.WriteArray(writer, state.Item2, WriteItem);
            writer.WriteString("node", state.NodeName);
            writer.WriteEndObject();
            writer.WriteEndArray();
        });

    private static ApiResponse ListNode(ApiCall call)
        => SecurityJson.IsOtherNode(call, call.Route("node"))
            ? ApiResponse.NotFound()
            : SecurityJson.Raw(call.Context.Broker.Configs.List(), static (writer, items) => SecurityJson.WriteArray(writer, items, WriteItem));

    private static ApiResponse Update(ApiCall call)
    {
        if (call.RouteValues.TryGet("node", out string? node) && SecurityJson.IsOtherNode(call, node))
        {
            return ApiResponse.NotFound();
        }

        ApiParams p = call.Params;
        if (p.TryGetString("key", out string? key) != ParamStatus.Ok || string.IsNullOrEmpty(key))
        {
            return Message(400, "missing key");
        }

        string? value;
        if (p.TryGetJson("value", out JsonElement json) && json.ValueKind is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number)
        {
            // Accept {"value": false} and {"value": 100} as well as the documented strings.
            value = json.ValueKind == JsonValueKind.Number ? json.GetRawText() : json.ValueKind == JsonValueKind.True ? "true" : "false";
        }
        else if (p.TryGetString("value", out value) != ParamStatus.Ok || value is null)
        {
            return Message(400, "missing value");
        }

        return call.Context.Broker.Configs.Set(call.Route("app"), key, value, out string? error) == ConfigChange.Done
            ? V3.String("ok")
            : Message(400, error ?? "bad config");
    }

    private static ApiResponse Message(int status, string message)
        => ApiResponse.Json(status, message, static (writer, m) =>
        {
            writer.WriteStartObject();
            writer.WriteString("message", m);
            writer.WriteEndObject();
        });
}
