using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Broker.Http;

/// <summary>
/// The v4 envelope as EMQX 4.4 (minirest) writes it: <c>{"code":0}</c>, <c>{"code":0,"data":…}</c>,
/// <c>{"code":0,"data":[…],"meta":{…}}</c>, and business errors <c>{"code":N,"message":"…"}</c> with HTTP 200.
/// </summary>
public static class V4
{
    private static readonly byte[] s_ok = """{"code":0}"""u8.ToArray();

    /// <summary><c>{"code":0}</c>.</summary>
    public static ApiResponse Ok() => new(200, ApiResponse.JsonContentType, s_ok);

    /// <summary><c>{"code":0,"data":data}</c>.</summary>
    public static ApiResponse Ok<T>(T data, JsonTypeInfo<T> type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return ApiResponse.Json(200, (data, type), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", 0);
            writer.WritePropertyName("data");
            JsonSerializer.Serialize(writer, state.data, state.type);
            writer.WriteEndObject();
        });
    }

    /// <summary><c>{"code":0,"data":[items],"meta":{page,limit,count[,hasnext]}}</c>.</summary>
    public static ApiResponse Page<T>(PageResult<T> page, JsonTypeInfo<T> itemType)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(itemType);
        return ApiResponse.Json(200, (page, itemType), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", 0);
            writer.WriteStartArray("data");
            foreach (T item in state.page.Items)
            {
                JsonSerializer.Serialize(writer, item, state.itemType);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("meta");
            state.page.Meta.WriteTo(writer);
            writer.WriteEndObject();
        });
    }

    /// <summary>A business error: <c>{"code":code,"message":message}</c>, HTTP 200 unless told otherwise.</summary>
    public static ApiResponse Error(int code, string message, int status = 200)
        => ApiResponse.Json(status, (code, message), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", state.code);
            writer.WriteString("message", state.message);
            writer.WriteEndObject();
        });

    /// <summary>EMQX's <c>{error, Msg}</c> without a code: <c>{"message":message}</c> (for example <c>existed</c>).</summary>
    public static ApiResponse Message(string message)
        => ApiResponse.Json(200, message, static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteString("message", state);
            writer.WriteEndObject();
        });
}

/// <summary>
/// The v3 shapes, as the v3 document shows them: bare data (<c>[…]</c>, <c>{…}</c>), pages as
/// <c>{"items":[…],"meta":{page,limit,count}}</c>, and results as <c>{"code":N}</c>.
/// </summary>
public static class V3
{
    /// <summary>The data itself, without an envelope.</summary>
    public static ApiResponse Raw<T>(T data, JsonTypeInfo<T> type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return ApiResponse.Json(200, (data, type), static (writer, state) => JsonSerializer.Serialize(writer, state.data, state.type));
    }

    /// <summary><c>{"items":[…],"meta":{"page","limit","count"}}</c>.</summary>
    public static ApiResponse Page<T>(PageResult<T> page, JsonTypeInfo<T> itemType)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(itemType);
        return ApiResponse.Json(200, (page, itemType), static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("items");
            foreach (T item in state.page.Items)
            {
                JsonSerializer.Serialize(writer, item, state.itemType);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("meta");
            (state.page.Meta with { HasNext = null }).WriteTo(writer);
            writer.WriteEndObject();
        });
    }

    /// <summary><c>{"code":code}</c>.</summary>
    public static ApiResponse Code(int code)
        => ApiResponse.Json(200, code, static (writer, state) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", state);
            writer.WriteEndObject();
        });

    /// <summary>A bare JSON string, such as the kick's <c>"ok"</c>.</summary>
    public static ApiResponse String(string value)
        => ApiResponse.Json(200, value, static (writer, state) => writer.WriteStringValue(state));
}
