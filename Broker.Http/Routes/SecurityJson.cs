using System.Text.Json;

namespace Broker.Http.Routes;

/// <summary>
/// Bodies of the security routes (users, ACL, banned, plugins, configs, alarms), written field by field with
/// <see cref="Utf8JsonWriter"/>: their shapes vary per EMQX version and route, and no reflection is involved.
/// </summary>
internal static class SecurityJson
{
    /// <summary><c>{"code":0,"data":[rows],"meta":{…}}</c>.</summary>
    public static ApiResponse V4Page<T>(PageResult<T> page, Action<Utf8JsonWriter, T> writeRow)
        => ApiResponse.Json(200, (page, writeRow), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", 0);
            writer.WriteStartArray("data");
            foreach (T row in state.page.Items)
            {
                state.writeRow(writer, row);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("meta");
            state.page.Meta.WriteTo(writer);
            writer.WriteEndObject();
        });

    /// <summary><c>{"code":0,"data":…}</c> with the data written by <paramref name="writeData"/>.</summary>
    public static ApiResponse V4Data<T>(T state, Action<Utf8JsonWriter, T> writeData)
        => ApiResponse.Json(200, (state, writeData), static (writer, s) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", 0);
            writer.WritePropertyName("data");
            s.writeData(writer, s.state);
            writer.WriteEndObject();
        });

    /// <summary><c>{"code":0,"data":[rows]}</c>.</summary>
    public static ApiResponse V4List<T>(IEnumerable<T> rows, Action<Utf8JsonWriter, T> writeRow)
        => V4Data((rows, writeRow), static (writer, s) => WriteArray(writer, s.rows, s.writeRow));

    /// <summary>A bare JSON body (v3).</summary>
    public static ApiResponse Raw<T>(T state, Action<Utf8JsonWriter, T> write, int status = 200)
        => ApiResponse.Json(status, state, write);

    /// <summary><c>{"items":[rows],"meta":{page,limit,count}}</c> (v3 pages).</summary>
    public static ApiResponse V3Page<T>(PageResult<T> page, Action<Utf8JsonWriter, T> writeRow)
        => ApiResponse.Json(200, (page, writeRow), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("items");
            foreach (T row in state.page.Items)
            {
                state.writeRow(writer, row);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("meta");
            (state.page.Meta with { HasNext = null }).WriteTo(writer);
            writer.WriteEndObject();
        });

    public static void WriteArray<T>(Utf8JsonWriter writer, IEnumerable<T> rows, Action<Utf8JsonWriter, T> writeRow)
    {
        writer.WriteStartArray();
        foreach (T row in rows)
        {
            writeRow(writer, row);
        }

        writer.WriteEndArray();
    }

    /// <summary>A batch result object: <c>{"id":"ok","other":"existed"}</c>.</summary>
    public static ApiResponse V4Results(IReadOnlyList<KeyValuePair<string, string>> results)
        => V4Data(results, static (writer, list) =>
        {
            writer.WriteStartObject();
            foreach (KeyValuePair<string, string> pair in list)
            {
                writer.WriteString(pair.Key, pair.Value);
            }

            writer.WriteEndObject();
        });

    /// <summary><c>{"code":0,"data":{}}</c>: EMQX's answer for a lookup of something unknown.</summary>
    public static ApiResponse V4EmptyObject()
        => V4Data(0, static (writer, _) =>
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        });

    /// <summary>The body items: each element of an array body, or the object body itself.</summary>
    public static IReadOnlyList<ApiParams> Items(ApiCall call, out bool isBatch)
    {
        JsonElement body = call.Body;
        isBatch = body.ValueKind == JsonValueKind.Array;
        if (isBatch)
        {
            var items = new List<ApiParams>();
            foreach (JsonElement item in body.EnumerateArray())
            {
                items.Add(new ApiParams(item));
            }

            return items;
        }

        return [call.Params];
    }

    /// <summary>404 <c>Not found.</c> unless <paramref name="node"/> is this node (EMQX: an unknown node atom).</summary>
    public static bool IsOtherNode(ApiCall call, string node) => !string.Equals(node, call.Context.NodeName, StringComparison.Ordinal);
}
