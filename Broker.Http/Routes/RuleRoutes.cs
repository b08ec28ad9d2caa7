using System.Net.Sockets;
using System.Text.Json;
using Broker.Core.Rules;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// The rule engine (EMQX 4.4 <c>emqx_rule_engine_api</c>): <c>/rules</c>, <c>/actions</c>, <c>/resource_types</c>
/// and <c>/resources</c>, with the bodies of the contract's examples. Errors are EMQX's rule API answers,
/// <c>{"code":400,"message":…}</c> (bad SQL with its position, unknown action or resource...), sent with HTTP 400;
/// an unknown id is <c>{"code":404,"message":…}</c> with HTTP 404.
/// </summary>
internal static class RuleRoutes
{
    private const int BadArguments = 400;
    private const int NotFound = 404;

    public static void Map(RouteTable routes)
    {
        routes
            .Get("/rules", "list_rules", "List rule engine rules", ListRules)
            .Get("/rules/{id}", "show_rule", "Show a rule", ShowRule)
            .Post("/rules", "create_rule", "Create a rule", CreateRule)
            .Put("/rules/{id}", "update_rule", "Update a rule (rawsql, actions, description, enabled)", UpdateRule)
            .Delete("/rules/{id}", "delete_rule", "Delete a rule", DeleteRule)
            .Get("/actions", "list_actions", "List the rule engine's actions", ListActions)
            .Get("/actions/{name}", "show_action", "Show an action", ShowAction)
            .Get("/resource_types", "list_resource_types", "List resource types", ListResourceTypes)
            .Get("/resource_types/{name}", "show_resource_type", "Show a resource type", ShowResourceType)
            .Get("/resources", "list_resources", "List resources", ListResources)
            .MapAsync("GET", "/resources/{id}", "show_resource", "Show a resource with its status", ShowResourceAsync)
            .Post("/resources", "create_resource", "Create a resource", CreateResource)
            .Delete("/resources/{id}", "delete_resource", "Delete a resource", DeleteResource);
    }

    private static ApiResponse Error(int code, string message) => V4.Error(code, message, status: code);

    private static ApiResponse ListRules(ApiCall call)
    {
        string node = call.Context.NodeName;
        return SecurityJson.V4List(call.Context.Broker.Rules.Rules, (writer, rule) => WriteRule(writer, rule, node));
    }

    private static ApiResponse ShowRule(ApiCall call)
        => call.Context.Broker.Rules.FindRule(call.Route("id")) is { } rule
            ? RuleData(call, rule)
            : Error(NotFound, "Rule Id Not Found");

    private static ApiResponse RuleData(ApiCall call, Rule rule)
    {
        string node = call.Context.NodeName;
        return SecurityJson.V4Data(rule, (writer, r) => WriteRule(writer, r, node));
    }

    private static ApiResponse CreateRule(ApiCall call)
    {
        JsonElement body = call.Body;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Error(BadArguments, "Bad Arguments: the body must be a JSON object with rawsql and actions");
        }

        if (!TryGetString(body, "rawsql", out string? rawSql, out ApiResponse? error) || rawSql is null)
        {
            return error ?? Error(BadArguments, "Bad Arguments: rawsql is required");
        }

        if (!TryGetActions(body, out List<(string, JsonElement)>? actions, out error))
        {
            return error!;
        }

        if (!TryGetString(body, "description", out string? description, out error)
            || !TryGetString(body, "id", out string? id, out error)
            || !TryGetBool(body, "enabled", out bool? enabled, out error))
        {
            return error!;
        }

        return Apply(call, rules => rules.CreateRule(id, rawSql, actions ?? [], description, enabled ?? true));
    }

    private static ApiResponse UpdateRule(ApiCall call)
    {
        JsonElement body = call.Body;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Error(BadArguments, "Bad Arguments: the body must be a JSON object");
        }

        if (!TryGetString(body, "rawsql", out string? rawSql, out ApiResponse? error)
            || !TryGetString(body, "description", out string? description, out error)
            || !TryGetBool(body, "enabled", out bool? enabled, out error)
            || !TryGetActions(body, out List<(string, JsonElement)>? actions, out error))
        {
            return error!;
        }

        string id = call.Route("id");
        return Apply(call, rules => rules.UpdateRule(id, rawSql, actions, description, enabled));
    }

    private static ApiResponse Apply(ApiCall call, Func<RuleEngine, Rule?> change)
    {
        try
        {
            return change(call.Context.Broker.Rules) is { } rule ? RuleData(call, rule) : Error(NotFound, "Rule Id Not Found");
        }
        catch (RuleSqlException ex)
        {
            return Error(BadArguments, "Bad Arguments: " + ex.Message);
        }
        catch (RuleDefinitionException ex)
        {
            return Error(BadArguments, "Bad Arguments: " + ex.Message);
        }
    }

    private static ApiResponse DeleteRule(ApiCall call)
    {
        call.Context.Broker.Rules.DeleteRule(call.Route("id"));
        return V4.Ok();
    }

    private static ApiResponse ListActions(ApiCall call)
        => SecurityJson.V4List(RuleCatalog.Actions, static (writer, action) => writer.WriteRawValue(action.Json));

    private static ApiResponse ShowAction(ApiCall call)
        => RuleCatalog.FindAction(call.Route("name")) is { } action
            ? SecurityJson.V4Data(action, static (writer, a) => writer.WriteRawValue(a.Json))
            : Error(NotFound, "Action Not Found");

    private static ApiResponse ListResourceTypes(ApiCall call)
        => SecurityJson.V4List(RuleCatalog.ResourceTypes, static (writer, type) => writer.WriteRawValue(type.Json));

    private static ApiResponse ShowResourceType(ApiCall call)
        => RuleCatalog.FindResourceType(call.Route("name")) is { } type
            ? SecurityJson.V4Data(type, static (writer, t) => writer.WriteRawValue(t.Json))
            : Error(NotFound, "Resource Type Not Found");

    private static ApiResponse ListResources(ApiCall call)
        => SecurityJson.V4List(call.Context.Broker.Rules.Resources, static (writer, resource) => WriteResource(writer, resource, null, null));

    private static async ValueTask<ApiResponse> ShowResourceAsync(ApiCall call)
    {
        if (call.Context.Broker.Rules.FindResource(call.Route("id")) is not { } resource)
        {
            return Error(NotFound, "Resource Not Found");
        }

        bool alive = await IsAliveAsync(resource.Url).ConfigureAwait(false);
        string node = call.Context.NodeName;
        return SecurityJson.V4Data(resource, (writer, r) => WriteResource(writer, r, node, alive));
    }

    private static ApiResponse CreateResource(ApiCall call)
    {
        JsonElement body = call.Body;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Error(BadArguments, "Bad Arguments: the body must be a JSON object with type and config");
        }

        if (!TryGetString(body, "type", out string? type, out ApiResponse? error) || type is null)
        {
            return error ?? Error(BadArguments, "Bad Arguments: type is required");
        }

        if (!body.TryGetProperty("config", out JsonElement config) || config.ValueKind != JsonValueKind.Object)
        {
            return Error(BadArguments, "Bad Arguments: config is required and must be an object");
        }

        if (!TryGetString(body, "description", out string? description, out error) || !TryGetString(body, "id", out string? id, out error))
        {
            return error!;
        }

        try
        {
            RuleResource resource = call.Context.Broker.Rules.CreateResource(id, type, config, description);
            return SecurityJson.V4Data(resource, static (writer, r) => WriteResource(writer, r, null, null));
        }
        catch (RuleDefinitionException ex)
        {
            return Error(BadArguments, "Bad Arguments: " + ex.Message);
        }
    }

    private static ApiResponse DeleteResource(ApiCall call)
    {
        try
        {
            call.Context.Broker.Rules.DeleteResource(call.Route("id"));
            return V4.Ok();
        }
        catch (RuleDefinitionException ex)
        {
            return Error(BadArguments, ex.Message);
        }
    }

    // {"rawsql","metrics":[{"speed_max","speed_last5m","speed","node","matched"}],"id","for","enabled","description",
    //  "actions":[{"params","name","metrics":[{"success","node","failed"}],"id"}]}, in the contract's order.
    private static void WriteRule(Utf8JsonWriter writer, Rule rule, string node)
    {
        writer.WriteStartObject();
        writer.WriteString("rawsql", rule.Definition.RawSql);
        writer.WriteStartArray("metrics");
        writer.WriteStartObject();
        writer.WriteNumber("speed_max", rule.SpeedMax);
        writer.WriteNumber("speed_last5m", rule.SpeedLast5m);
        writer.WriteNumber("speed", rule.Speed);
        writer.WriteString("node", node);
        writer.WriteNumber("matched", rule.Matched);
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteString("id", rule.Id);
        writer.WriteStartArray("for");
        foreach (string from in rule.Sql.From)
        {
            writer.WriteStringValue(from);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("enabled", rule.Enabled);
        writer.WriteString("description", rule.Definition.Description);
        writer.WriteStartArray("actions");
        foreach (RuleAction action in rule.Actions)
        {
            writer.WriteStartObject();
            writer.WritePropertyName("params");
            action.Parameters.WriteTo(writer);
            writer.WriteString("name", action.Name);
            writer.WriteStartArray("metrics");
            writer.WriteStartObject();
            writer.WriteNumber("success", action.Success);
            writer.WriteString("node", node);
            writer.WriteNumber("failed", action.Failed);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteString("id", action.Id);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    // {"type",["status":[{"node","is_alive"}],]"id","description","config"}: the status only for a single resource.
    private static void WriteResource(Utf8JsonWriter writer, RuleResource resource, string? node, bool? alive)
    {
        writer.WriteStartObject();
        writer.WriteString("type", resource.Type);
        if (alive is { } isAlive)
        {
            writer.WriteStartArray("status");
            writer.WriteStartObject();
            writer.WriteString("node", node);
            writer.WriteBoolean("is_alive", isAlive);
            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        writer.WriteString("id", resource.Id);
        writer.WriteString("description", resource.Definition.Description);
        writer.WritePropertyName("config");
        resource.Config.WriteTo(writer);
        writer.WriteEndObject();
    }

    /// <summary>EMQX's web hook status: whether the server accepts a TCP connection, within two seconds.</summary>
    private static async Task<bool> IsAliveAsync(Uri url)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(url.DnsSafeHost, url.Port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static bool TryGetString(JsonElement body, string name, out string? value, out ApiResponse? error)
    {
        value = null;
        error = null;
        if (!body.TryGetProperty(name, out JsonElement element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            error = Error(BadArguments, $"Bad Arguments: {name} must be a string");
            return false;
        }

        value = element.GetString();
        return true;
    }

    private static bool TryGetBool(JsonElement body, string name, out bool? value, out ApiResponse? error)
    {
        value = null;
        error = null;
        if (!body.TryGetProperty(name, out JsonElement element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            value = element.GetBoolean();
            return true;
        }

        error = Error(BadArguments, $"Bad Arguments: {name} must be true or false");
        return false;
    }

    private static bool TryGetActions(JsonElement body, out List<(string, JsonElement)>? actions, out ApiResponse? error)
    {
        actions = null;
        error = null;
        if (!body.TryGetProperty("actions", out JsonElement element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            error = Error(BadArguments, "Bad Arguments: actions must be an array of {name, params}");
            return false;
        }

        actions = [];
        foreach (JsonElement item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String)
            {
                error = Error(BadArguments, "Bad Arguments: each action needs a name");
                return false;
            }

            JsonElement parameters = item.TryGetProperty("params", out JsonElement p) ? p.Clone() : default;
            if (parameters.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
            {
                error = Error(BadArguments, $"Bad Arguments: params of action {name.GetString()} must be an object");
                return false;
            }

            actions.Add((name.GetString()!, parameters));
        }

        return true;
    }
}
