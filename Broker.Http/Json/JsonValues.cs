using System.Text.Json;

namespace Broker.Http.Json;

/// <summary>Small <see cref="JsonElement"/> values for fields whose JSON type differs between routes.</summary>
internal static class JsonValues
{
    public static JsonElement String(string value)
    {
        using JsonDocument document = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(value, HttpJsonContext.Default.String));
        return document.RootElement.Clone();
    }

    public static JsonElement Number(long value)
    {
        using JsonDocument document = JsonDocument.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return document.RootElement.Clone();
    }
}
