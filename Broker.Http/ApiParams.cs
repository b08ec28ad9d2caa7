using System.Globalization;
using System.Text.Json;

namespace Broker.Http;

/// <summary>
/// Typed reads of one parameter set: a JSON object (the body, or one item of a batch array) and optionally the query
/// string, the query first as EMQX merges them (<c>QueryParams ++ BodyParams</c>).
/// </summary>
public readonly struct ApiParams
{
    private readonly JsonElement _object;
    private readonly QueryString? _query;

    public ApiParams(JsonElement jsonObject, QueryString? query = null)
    {
        _object = jsonObject.ValueKind == JsonValueKind.Object ? jsonObject : default;
        _query = query;
    }

    /// <summary>Whether the parameter is present in either source (JSON null counts as absent).</summary>
    public bool Has(string name) => _query?.Get(name) is not null || TryGetJson(name, out _);

    /// <summary>The JSON value of a body parameter, if present and not null.</summary>
    public bool TryGetJson(string name, out JsonElement value)
    {
        if (_object.ValueKind == JsonValueKind.Object && _object.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>
    /// A string parameter: <see cref="ParamStatus.Missing"/>, <see cref="ParamStatus.Ok"/>, or
    /// <see cref="ParamStatus.Invalid"/> when the JSON value is not a string.
    /// </summary>
    public ParamStatus TryGetString(string name, out string? value)
    {
        if (_query?.Get(name) is { } text)
        {
            value = text;
            return ParamStatus.Ok;
        }

        value = null;
        if (!TryGetJson(name, out JsonElement json))
        {
            return ParamStatus.Missing;
        }

        if (json.ValueKind != JsonValueKind.String)
        {
            return ParamStatus.Invalid;
        }

        value = json.GetString();
        return ParamStatus.Ok;
    }

    /// <summary>An integer parameter (a JSON number, or digits in a string or the query).</summary>
    public ParamStatus TryGetInt(string name, out int value)
    {
        ParamStatus status = TryGetLong(name, out long wide);
        value = (int)wide;
        return status == ParamStatus.Ok && wide is < int.MinValue or > int.MaxValue ? ParamStatus.Invalid : status;
    }

    /// <summary>A 64-bit integer parameter (unix seconds, for example).</summary>
    public ParamStatus TryGetLong(string name, out long value)
    {
        value = 0;
        string? text = _query?.Get(name);
        if (text is null)
        {
            if (!TryGetJson(name, out JsonElement json))
            {
                return ParamStatus.Missing;
            }

            if (json.ValueKind == JsonValueKind.Number)
            {
                return json.TryGetInt64(out value) ? ParamStatus.Ok : ParamStatus.Invalid;
            }

            if (json.ValueKind != JsonValueKind.String)
            {
                return ParamStatus.Invalid;
            }

            text = json.GetString();
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) ? ParamStatus.Ok : ParamStatus.Invalid;
    }

    /// <summary>A boolean parameter (JSON true/false, or "true"/"false" in a string or the query).</summary>
    public ParamStatus TryGetBool(string name, out bool value)
    {
        value = false;
        string? text = _query?.Get(name);
        if (text is null)
        {
            if (!TryGetJson(name, out JsonElement json))
            {
                return ParamStatus.Missing;
            }

            switch (json.ValueKind)
            {
                case JsonValueKind.True:
                    value = true;
                    return ParamStatus.Ok;
                case JsonValueKind.False:
                    return ParamStatus.Ok;
                case JsonValueKind.String:
                    text = json.GetString();
                    break;
                default:
                    return ParamStatus.Invalid;
            }
        }

        switch (text)
        {
            case "true":
                value = true;
                return ParamStatus.Ok;
            case "false":
                return ParamStatus.Ok;
            default:
                return ParamStatus.Invalid;
        }
    }
}

/// <summary>The outcome of reading one parameter.</summary>
public enum ParamStatus
{
    /// <summary>Present and of the right type.</summary>
    Ok,
    /// <summary>Absent (or JSON null).</summary>
    Missing,
    /// <summary>Present with a value of the wrong type.</summary>
    Invalid,
}
