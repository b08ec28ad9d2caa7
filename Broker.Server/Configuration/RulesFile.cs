using System.Text.Json;
using Broker.Core;
using Broker.Core.Rules;
using Broker.Server.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Configuration;

/// <summary>
/// Keeps the rule engine's rules and resources in the database (<see cref="SqliteStore"/>, one document of kind
/// <c>rules</c>), as <see cref="SecurityTables"/> keeps users: loaded at start (resources first, since rules name them),
/// rewritten whole on every <see cref="RuleEngine.Changed"/>, durable before the API answers. Metrics are not kept. An
/// entry that no longer loads is logged and skipped, never fatal. A <c>rules.json</c> of earlier versions is imported
/// once and renamed <c>rules.json.imported</c>.
/// </summary>
internal sealed class RulesFile
{
    public const string FileName = "rules.json";

    private const string DocumentKind = "rules";
    private const string DocumentId = "all";

    private readonly string _path;
    private readonly SqliteStore _store;
    private readonly MqttBroker _broker;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();

    private RulesFile(string path, SqliteStore store, MqttBroker broker, ILogger logger)
    {
        _path = path;
        _store = store;
        _broker = broker;
        _logger = logger;
    }

    public static RulesFile Open(string dataDirectory, SqliteStore store, MqttBroker broker, ILogger logger)
    {
        var file = new RulesFile(Path.Combine(dataDirectory, FileName), store, broker, logger);
        byte[]? stored = null;
        foreach ((string id, byte[] json) in store.LoadDocuments(DocumentKind))
        {
            if (id == DocumentId)
            {
                stored = json;
            }
        }

        if (stored is not null)
        {
            file.Load(stored);
        }
        else if (File.Exists(file._path))
        {
            file.Load(File.ReadAllBytes(file._path));
            file.Save();
            File.Move(file._path, file._path + ".imported", overwrite: true);
        }

        broker.Rules.Changed += file.Save;
        return file;
    }

    private void Load(byte[] content)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content);
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

            // Durable before the API answers code 0.
            _store.SaveDocumentAsync(DocumentKind, DocumentId, buffer.WrittenSpan.ToArray()).GetAwaiter().GetResult();
        }
    }
}
