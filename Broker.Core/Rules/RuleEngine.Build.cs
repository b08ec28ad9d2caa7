using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.Core.Topics;

namespace Broker.Core.Rules;

public sealed partial class RuleEngine
{
    /// <summary>The actions a rule may name (EMQX 4.4's built-ins and the web hook's, plus <c>web_hook</c> as its alias).</summary>
    public static IReadOnlyList<string> ActionNames { get; } = ["inspect", "do_nothing", "republish", "data_to_webserver", "web_hook"];

    /// <summary>The resource types resources may have.</summary>
    public static IReadOnlyList<string> ResourceTypeNames { get; } = ["web_hook"];

    private static readonly TimeSpan s_defaultWebHookTimeout = TimeSpan.FromSeconds(5);

    private Rule Build(RuleDefinition definition)
    {
        RuleSql sql = RuleSql.Compile(definition.RawSql);
        foreach (string from in sql.From)
        {
            if (from.StartsWith(RuleEvents.Prefix, StringComparison.Ordinal))
            {
                if (!RuleEvents.TryParse(from, out _))
                {
                    throw new RuleDefinitionException($"unknown event '{from}' in FROM; known events: {string.Join(", ", RuleEvents.FromNames)}");
                }
            }
            else if (!TopicValidator.IsValidTopicFilter(Encoding.UTF8.GetBytes(from)))
            {
                throw new RuleDefinitionException($"'{from}' in FROM is not a valid topic filter");
            }
        }

        var actions = new RuleAction[definition.Actions.Count];
        for (int i = 0; i < actions.Length; i++)
        {
            actions[i] = BuildAction(definition.Actions[i]);
        }

        return new Rule(definition, sql, actions);
    }

    private RuleAction BuildAction(RuleActionDefinition definition)
    {
        JsonElement parameters;
        try
        {
            using JsonDocument document = JsonDocument.Parse(definition.ParamsJson);
            parameters = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new RuleDefinitionException($"params of action {definition.Name} are not JSON");
        }

        if (parameters.ValueKind != JsonValueKind.Object)
        {
            throw new RuleDefinitionException($"params of action {definition.Name} must be an object");
        }

        switch (definition.Name)
        {
            case "inspect":
            case "do_nothing":
                return new RuleAction(definition, parameters);
            case "republish":
                string topic = GetString(parameters, "target_topic", definition.Name, required: true)!;
                if (topic.Length == 0)
                {
                    throw new RuleDefinitionException("republish: target_topic must not be empty");
                }

                int qos = GetInt(parameters, "target_qos", definition.Name, 0);
                if (qos is < -1 or > 2)
                {
                    throw new RuleDefinitionException("republish: target_qos must be -1 (as received), 0, 1 or 2");
                }

                return new RuleAction(definition, parameters)
                {
                    TopicTemplate = RuleTemplate.Parse(topic),
                    PayloadTemplate = RuleTemplate.Parse(GetString(parameters, "payload_tmpl", definition.Name) ?? "${payload}"),
                    TargetQoS = qos,
                    TargetRetain = GetBool(parameters, "target_retain", definition.Name),
                };
            case "data_to_webserver":
            case "web_hook":
                string resourceId = GetString(parameters, "$resource", definition.Name, required: true)!;
                if (!_resources.TryGetValue(resourceId, out RuleResource? resource) || resource.Type != "web_hook")
                {
                    throw new RuleDefinitionException($"{definition.Name}: resource {resourceId} not found (create a web_hook resource first)");
                }

                string? method = GetString(parameters, "method", definition.Name)?.ToUpperInvariant();
                if (method is not null and not ("POST" or "PUT"))
                {
                    throw new RuleDefinitionException($"{definition.Name}: method must be POST or PUT");
                }

                string body = GetString(parameters, "body", definition.Name) ?? GetString(parameters, "payload_tmpl", definition.Name) ?? string.Empty;
                return new RuleAction(definition, parameters)
                {
                    ResourceId = resourceId,
                    Method = method,
                    PathTemplate = RuleTemplate.Parse(GetString(parameters, "path", definition.Name) ?? string.Empty),
                    PayloadTemplate = RuleTemplate.Parse(body),
                    Headers = GetHeaders(parameters, definition.Name),
                };
            default:
                throw new RuleDefinitionException($"action {definition.Name} not found; known actions: {string.Join(", ", ActionNames)}");
        }
    }

    private static RuleResource BuildResource(ResourceDefinition definition)
    {
        if (!string.Equals(definition.Type, "web_hook", StringComparison.Ordinal))
        {
            throw new RuleDefinitionException($"resource type {definition.Type} not found; known types: web_hook");
        }

        JsonElement config;
        try
        {
            using JsonDocument document = JsonDocument.Parse(definition.ConfigJson);
            config = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new RuleDefinitionException("config is not JSON");
        }

        if (config.ValueKind != JsonValueKind.Object)
        {
            throw new RuleDefinitionException("config must be an object");
        }

        string url = GetString(config, "url", "web_hook", required: true)!;
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new RuleDefinitionException($"web_hook: url '{url}' is not an http or https URL");
        }

        string method = GetString(config, "method", "web_hook")?.ToUpperInvariant() ?? "POST";
        if (method is not ("POST" or "PUT"))
        {
            throw new RuleDefinitionException("web_hook: method must be POST or PUT");
        }

        TimeSpan timeout = s_defaultWebHookTimeout;
        if (config.TryGetProperty("request_timeout", out JsonElement t) && !TryParseDuration(t, out timeout))
        {
            throw new RuleDefinitionException("web_hook: request_timeout must be a duration such as \"5s\" or \"500ms\"");
        }

        return new RuleResource(definition, config, uri, method, GetHeaders(config, "web_hook"), timeout);
    }

    private static bool TryParseDuration(JsonElement value, out TimeSpan duration)
    {
        duration = default;
        double amount;
        string unit;
        if (value.ValueKind == JsonValueKind.Number)
        {
            amount = value.GetDouble();
            unit = "s";
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            string text = value.GetString()!.Trim();
            int split = 0;
            while (split < text.Length && (char.IsAsciiDigit(text[split]) || text[split] == '.'))
            {
                split++;
            }

            if (!double.TryParse(text.AsSpan(0, split), NumberStyles.Float, CultureInfo.InvariantCulture, out amount))
            {
                return false;
            }

            unit = split == text.Length ? "s" : text[split..];
        }
        else
        {
            return false;
        }

        duration = unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(amount),
            "s" => TimeSpan.FromSeconds(amount),
            "m" => TimeSpan.FromMinutes(amount),
            _ => TimeSpan.Zero,
        };
        return duration > TimeSpan.Zero && duration <= TimeSpan.FromMinutes(10);
    }

    private static string? GetString(JsonElement parameters, string name, string owner, bool required = false)
    {
        if (!parameters.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new RuleDefinitionException($"{owner}: {name} is required") : null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new RuleDefinitionException($"{owner}: {name} must be a string");
    }

    private static int GetInt(JsonElement parameters, string name, string owner, int fallback)
    {
        if (!parameters.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n))
        {
            return n;
        }

        if (value.ValueKind == JsonValueKind.String && int.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n))
        {
            return n;
        }

        throw new RuleDefinitionException($"{owner}: {name} must be an integer");
    }

    private static bool GetBool(JsonElement parameters, string name, string owner)
    {
        if (!parameters.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out bool b) => b,
            _ => throw new RuleDefinitionException($"{owner}: {name} must be true or false"),
        };
    }

    private static KeyValuePair<string, string>[] GetHeaders(JsonElement parameters, string owner)
    {
        if (!parameters.TryGetProperty("headers", out JsonElement headers) || headers.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (headers.ValueKind != JsonValueKind.Object)
        {
            throw new RuleDefinitionException($"{owner}: headers must be an object of strings");
        }

        var list = new List<KeyValuePair<string, string>>();
        foreach (JsonProperty header in headers.EnumerateObject())
        {
            string value = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString()! : header.Value.GetRawText();
            if (header.Name.Length == 0 || header.Name.AsSpan().ContainsAny("\r\n: ") || value.AsSpan().ContainsAny('\r', '\n'))
            {
                throw new RuleDefinitionException($"{owner}: header '{header.Name}' is not a valid HTTP header");
            }

            list.Add(new(header.Name, value));
        }

        return [.. list];
    }
}
