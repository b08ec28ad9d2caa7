using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Broker.Core.Rules;

/// <summary>
/// The rule engine's values: <c>null</c> (EMQX's <c>undefined</c>), <see cref="bool"/>, <see cref="long"/>,
/// <see cref="double"/>, <see cref="string"/>, maps (<see cref="Dictionary{TKey, TValue}"/> of string to value, in
/// insertion order) and arrays (<see cref="List{T}"/> of value). Conversions and comparisons follow EMQX 4.4's
/// <c>emqx_rule_runtime</c>: a number compared with a string compares numerically when the string is a number.
/// </summary>
public static class RuleValues
{
    public static bool IsNumber(object? value) => value is long or double;

    public static bool IsTruthy(object? value) => value switch
    {
        bool b => b,
        string s => string.Equals(s, "true", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    public static bool TryNumber(object? value, out double number)
    {
        switch (value)
        {
            case long l:
                number = l;
                return true;
            case double d:
                number = d;
                return true;
            case string s:
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
            case bool:
            default:
                number = 0;
                return false;
        }
    }

    /// <summary>A long if the value is integral (a long, or a string of one), else a double, else null.</summary>
    public static object? ToNumber(object? value) => value switch
    {
        long or double => value,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => null,
    };

    /// <summary>EMQX's <c>str/1</c>: strings as they are, numbers invariant, maps and arrays as JSON.</summary>
    public static string ToText(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        _ => ToJson(value),
    };

    public static string FormatDouble(double d)
        => d == Math.Floor(d) && Math.Abs(d) < 1e15 ? d.ToString("0.0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Compares for =, !=, &lt;... Returns null when the values cannot be compared (null, map vs number...).</summary>
    public static int? Compare(object? left, object? right)
    {
        if (left is null || right is null)
        {
            return null;
        }

        if (IsNumber(left) || IsNumber(right))
        {
            if (left is long a && right is long b)
            {
                return a.CompareTo(b);
            }

            return TryNumber(left, out double x) && TryNumber(right, out double y) ? x.CompareTo(y) : null;
        }

        if (left is string ls && right is string rs)
        {
            return string.CompareOrdinal(ls, rs);
        }

        if (left is bool lb && right is bool rb)
        {
            return lb.CompareTo(rb);
        }

        if (left is bool || right is bool)
        {
            return string.Equals(ToText(left), ToText(right), StringComparison.OrdinalIgnoreCase) ? 0 : null;
        }

        return string.Equals(ToJson(left), ToJson(right), StringComparison.Ordinal) ? 0 : null;
    }

    public static bool AreEqual(object? left, object? right)
    {
        if (left is null && right is null)
        {
            return true;
        }

        return Compare(left, right) == 0;
    }

    /// <summary>The value as JSON text.</summary>
    public static string ToJson(object? value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, s_writerOptions))
        {
            WriteJson(writer, value);
        }

        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case double:
                writer.WriteNullValue();
                break;
            case Dictionary<string, object?> map:
                writer.WriteStartObject();
                foreach (KeyValuePair<string, object?> pair in map)
                {
                    writer.WritePropertyName(pair.Key);
                    WriteJson(writer, pair.Value);
                }

                writer.WriteEndObject();
                break;
            case List<object?> list:
                writer.WriteStartArray();
                foreach (object? item in list)
                {
                    WriteJson(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    /// <summary>Parses JSON text into values; null if it is not JSON.</summary>
    public static bool TryParseJson(string text, out object? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            value = FromJson(document.RootElement);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A JSON element as values (numbers integral when they fit a long).</summary>
    public static object? FromJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    map[property.Name] = FromJson(property.Value);
                }

                return map;
            case JsonValueKind.Array:
                var list = new List<object?>(element.GetArrayLength());
                foreach (JsonElement item in element.EnumerateArray())
                {
                    list.Add(FromJson(item));
                }

                return list;
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                return element.TryGetInt64(out long l) ? (object)l : element.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    /// <summary>One step of a path: a key into a map (a string that is JSON is decoded first), or a 1-based index.</summary>
    public static object? Get(object? value, string key)
    {
        if (value is string s && TryParseJson(s, out object? decoded))
        {
            value = decoded;
        }

        return value is Dictionary<string, object?> map && map.TryGetValue(key, out object? found) ? found : null;
    }

    public static object? Index(object? value, long index)
    {
        if (value is string s && TryParseJson(s, out object? decoded))
        {
            value = decoded;
        }

        if (value is not List<object?> list)
        {
            return null;
        }

        // EMQX indexes from 1; a negative index counts from the end.
        long i = index > 0 ? index - 1 : list.Count + index;
        return i >= 0 && i < list.Count ? list[(int)i] : null;
    }
}
