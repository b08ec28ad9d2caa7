using System.Text.Json;
using Broker.Core;
using Broker.Core.Rules;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Configuration;

/// <summary>
/// Keeps the rule engine's rules and resources in <c>rules.json</c> in the data directory, as
/// <see cref="SecurityFile"/> keeps users: loaded at start (resources first, since rules name them), rewritten whole
/// (atomically, flushed to disk) on every <see cref="RuleEngine.Changed"/>. Metrics are not kept. An entry that no
/// longer loads (a hand-edited file) is logged and skipped, never fatal.
/// </summary>
internal sealed class RulesFile
{
    public const string FileName = "rules.json";

    private readonly string _path;
    private readonly MqttBroker _broker;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();

    private RulesFile(string path, MqttBroker broker, ILogger logger)
    {
        _path = path;
        _broker = broker;
        _logger = logger;
    }

    public static RulesFile Open(string dataDirectory, MqttBroker broker, ILogger logger)
    {
        var file = new RulesFile(Path.Combine(dataDirectory, FileName), broker, logger);
        file.Load();
        broker.Rules.Changed += file.Save;
        return file;
    }

    private void Load()
    {
        if (!File.Exists(_path))
        {
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(_path));
        }
        catch (JsonException ex)
        {
            ServerLog.RuleRestoreFailed(_logger, _path, "file", FileName, ex.Message);
            return;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (root.TryGetProperty("resources", out JsonElement resources) && resources.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement r in resources.EnumerateArray())
                {
                    if (r.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    string id = Text(r, "id");
                    try
                    {
                        _broker.Rules.RestoreResource(new ResourceDefinition(id, Text(r, "type"), Raw(r, "config"), Text(r, "description")));
                    }
                    catch (Exception ex) when (ex is RuleDefinitionException or ArgumentException or InvalidOperationException)
                    {
                        ServerLog.RuleRestoreFailed(_logger, _path, "resource", id, ex.Message);
                    }
                }
            }

            if (root.TryGetProperty("rules", out JsonElement rules) && rules.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement r in rules.EnumerateArray())
                {
                    if (r.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    string id = Text(r, "id");
                    try
                    {
                        var actions = new List<RuleActionDefinition>();
                        if (r.TryGetProperty("actions", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
                        {
                            foreach (JsonElement a in list.EnumerateArray())
                            {
                                if (a.ValueKind != JsonValueKind.Object)
                                {
                                    throw new RuleDefinitionException("an action is not an object");
                                }

                                actions.Add(new RuleActionDefinition(Text(a, "id"), Text(a, "name"), Raw(a, "params")));
                            }
                        }

                        _broker.Rules.RestoreRule(new RuleDefinition(
                            id,
                            Text(r, "rawsql"),
                            actions,
                            Text(r, "description"),
                            !r.TryGetProperty("enabled", out JsonElement enabled) || enabled.ValueKind != JsonValueKind.False,
                            r.TryGetProperty("created_at", out JsonElement at) && at.TryGetInt64(out long created) ? created : 0));
                    }
                    catch (Exception ex) when (ex is RuleSqlException or RuleDefinitionException or ArgumentException or InvalidOperationException)
                    {
                        ServerLog.RuleRestoreFailed(_logger, _path, "rule", id, ex.Message);
                    }
                }
            }
        }
    }

    private static string Text(JsonElement element, string name)
        => element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;

    private static string Raw(JsonElement element, string name)
        => element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Object ? value.GetRawText() : "{}";

    /// <summary>Writes every rule and resource; serialized so two changes never interleave their files.</summary>
    public void Save()
    {
        lock (_sync)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteStartArray("resources");
                foreach (ResourceDefinition resource in _broker.Rules.ExportResources())
                {
                    json.WriteStartObject();
                    json.WriteString("id", resource.Id);
                    json.WriteString("type", resource.Type);
                    json.WritePropertyName("config");
                    json.WriteRawValue(resource.ConfigJson);
                    json.WriteString("description", resource.Description);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("rules");
                foreach (RuleDefinition rule in _broker.Rules.ExportRules())
                {
                    json.WriteStartObject();
                    json.WriteString("id", rule.Id);
                    json.WriteString("rawsql", rule.RawSql);
                    json.WriteStartArray("actions");
                    foreach (RuleActionDefinition action in rule.Actions)
                    {
                        json.WriteStartObject();
                        json.WriteString("id", action.Id);
                        json.WriteString("name", action.Name);
                        json.WritePropertyName("params");
                        json.WriteRawValue(action.ParamsJson);
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteString("description", rule.Description);
                    json.WriteBoolean("enabled", rule.Enabled);
                    json.WriteNumber("created_at", rule.CreatedAt);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            string? directory = Path.GetDirectoryName(_path);
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            string temporary = _path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(buffer.WrittenSpan);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path, overwrite: true);
        }
    }
}
