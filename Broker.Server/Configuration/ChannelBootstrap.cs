using System.Text.Json;
using Broker.Http.Channel;

namespace Broker.Server.Configuration;

/// <summary>
/// Parses the cloud-edge channel's config entries: <c>--channel-user NAME:PASSWORD</c> and
/// <c>--channel-cluster</c>/<c>--channel-edge-service ID,URL[,USERNAME,PASSWORD]</c>, or in the config file the
/// objects <c>{"username","password"}</c> and <c>{"id","url","username","password"}</c>. Throws
/// <see cref="FormatException"/> with a message for the user.
/// </summary>
internal static class ChannelBootstrap
{
    public static (string Username, string Password) ParseUser(string value)
    {
        if (value.StartsWith('{'))
        {
            using JsonDocument document = ParseObject(value);
            return (Read(document, "username", required: true)!, Read(document, "password", required: true)!);
        }

        int colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < value.Length - 1
            ? (value[..colon], value[(colon + 1)..])
            : throw new FormatException($"'{value}' is not NAME:PASSWORD.");
    }

    public static ChannelTarget ParseTarget(string value, ChannelTargetKind kind)
    {
        ChannelTarget target;
        if (value.StartsWith('{'))
        {
            using JsonDocument document = ParseObject(value);
            target = new ChannelTarget
            {
                Id = Read(document, "id", required: true)!,
                Url = Read(document, "url", required: true)!,
                Username = Read(document, "username", required: false),
                Password = Read(document, "password", required: false),
                FromConfig = true,
            };
        }
        else
        {
            string[] parts = value.Split(',');
            if (parts.Length is not (2 or 3 or 4))
            {
                throw new FormatException($"'{value}' is not ID,URL[,USERNAME,PASSWORD].");
            }

            target = new ChannelTarget
            {
                Id = parts[0].Trim(),
                Url = parts[1].Trim(),
                Username = parts.Length > 2 ? parts[2] : null,
                Password = parts.Length > 3 ? parts[3] : null,
                FromConfig = true,
            };
        }

        return ChannelRegistry.Validate(kind, target) is { } error ? throw new FormatException($"'{target.Id}': {error}.") : target;
    }

    private static JsonDocument ParseObject(string value)
    {
        try
        {
            return JsonDocument.Parse(value);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not a JSON object: {ex.Message}", ex);
        }
    }

    private static string? Read(JsonDocument document, string name, bool required)
    {
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        return required ? throw new FormatException($"'{name}' (a string) is required.") : null;
    }
}
