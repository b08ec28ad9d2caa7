using System.Text.Json;

namespace Broker.Server.Configuration;

/// <summary>
/// Reads the JSON config file: one flat object whose keys are the option names in snake_case
/// (<c>{"mqtt_port": 1883, "max_inflight": 32, "allow_anonymous": false}</c>). Values are JSON strings, numbers or
/// booleans and go through the same parsers as the command line; the repeatable security options (<c>acl</c>,
/// <c>user</c>, <c>ban</c>) take an array of strings or objects. Comments and trailing commas are allowed.
/// Read with <see cref="JsonDocument"/>: no reflection, so the server stays trimmable.
/// </summary>
internal static class ConfigFile
{
    private static readonly JsonDocumentOptions s_documentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Applies every key of the file at <paramref name="path"/>. Throws <see cref="OptionException"/> naming the file and key.</summary>
    public static void Apply(ServerOptions options, string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new OptionException($"option {CommandLine.ConfigFlag}: cannot read '{path}': {ex.Message}", ex);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, s_documentOptions);
        }
        catch (JsonException ex)
        {
            throw new OptionException($"config file '{path}': not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new OptionException($"config file '{path}': expected a JSON object of option names and values.");
            }

            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                OptionDefinition definition = OptionTable.FindByJsonKey(property.Name) ?? throw UnknownKey(path, property.Name);
                string source = $"config file '{path}', key '{property.Name}'";
                if (definition.IsList && property.Value.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement item in property.Value.EnumerateArray())
                    {
                        string itemValue = item.ValueKind switch
                        {
                            JsonValueKind.String => item.GetString()!,
                            JsonValueKind.Object => item.GetRawText(),
                            _ => throw new OptionException($"{source}: expected an array of strings or objects."),
                        };
                        CommandLine.Apply(definition, options, itemValue, source);
                    }

                    continue;
                }

                string value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Number => property.Value.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Object when definition.IsList => property.Value.GetRawText(),
                    _ => throw new OptionException($"{source}: expected a string, number or boolean."),
                };

                CommandLine.Apply(definition, options, value, source);
            }
        }
    }

    private static OptionException UnknownKey(string path, string key)
    {
        string snake = key.Replace('-', '_');
        string hint = OptionTable.FindByJsonKey(snake) is not null ? $" (keys are snake_case: '{snake}')" : string.Empty;
        return new OptionException($"config file '{path}': unknown key '{key}'{hint}.");
    }
}
