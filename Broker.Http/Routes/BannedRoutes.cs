using System.Text.Json;
using Broker.Core.Security;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// The banned list: v4 (EMQX 4.4 <c>emqx_mgmt_api_banned</c>, behaviour doc 2.6) with <c>as</c> = clientid, username or
/// peerhost, and v3 (<c>as</c> = client_id, username or ip_address, with <c>desc</c>). Times are unix seconds.
/// </summary>
internal static class BannedRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/banned", "list_banned", "List banned", List)
            .Post("/banned", "create_banned", "Create banned", Create)
            .Delete("/banned/{as}/{who}", "delete_banned", "Delete banned", Delete);
    }

    public static void MapV3(RouteTable routes)
    {
        routes
            .Get("/banned", "list_banned", "List banned", ListV3)
            .Post("/banned", "create_banned", "Create banned", CreateV3)
            .Delete("/banned/{who}", "delete_banned", "Delete banned", DeleteV3);
    }

    private static string V4Name(BanKind kind) => kind switch
    {
        BanKind.ClientId => "clientid",
        BanKind.Username => "username",
        _ => "peerhost",
    };

    private static string V3Name(BanKind kind) => kind switch
    {
        BanKind.ClientId => "client_id",
        BanKind.Username => "username",
        _ => "ip_address",
    };

    private static BanKind? ParseKind(string? text) => text switch
    {
        "clientid" or "client_id" => BanKind.ClientId,
        "username" => BanKind.Username,
        "peerhost" or "ip_address" => BanKind.PeerHost,
        _ => null,
    };

    private static ApiResponse List(ApiCall call)
    {
        PageRequest page = Paging.Parse(call.Query);
        PageResult<BanEntry> result = Paging.Apply(call.Context.Broker.Banned.List(), page, null, static b => b, reportHasNext: false);
        return SecurityJson.V4Page(result, WriteV4);
    }

    // {who, as, reason, by = "user", at = now, until = now + 300}; missing who/as: 107; a bad as: 108.
    private static ApiResponse Create(ApiCall call)
    {
        if (!TryRead(call, out BanEntry? ban, out ApiResponse? error))
        {
            return error;
        }

        call.Context.Broker.Banned.Add(ban);
        return SecurityJson.V4Data(ban, WriteV4);
    }

    private static ApiResponse Delete(ApiCall call)
    {
        if (ParseKind(call.Route("as")) is not { } kind)
        {
            return V4.Error(ResultCode.BadParameter, "type error");
        }

        call.Context.Broker.Banned.Remove(kind, call.Route("who"));
        return V4.Ok();
    }

    private static bool TryRead(ApiCall call, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BanEntry? ban, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out ApiResponse? error)
    {
        ban = null;
        ApiParams p = call.Params;
        if (p.TryGetString("who", out string? who) != ParamStatus.Ok || string.IsNullOrEmpty(who) || p.TryGetString("as", out string? asText) != ParamStatus.Ok)
        {
            error = V4.Error(ResultCode.MissingParameter, "missing who or as");
            return false;
        }

        if (ParseKind(asText) is not { } kind)
        {
            error = V4.Error(ResultCode.BadParameter, "as must be clientid, username or peerhost");
            return false;
        }

        long now = call.Context.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (!TryLong(p, "at", now, out long at) || !TryLong(p, "until", at + (long)BannedList.DefaultDuration.TotalSeconds, out long until))
        {
            error = V4.Error(ResultCode.BadParameter, "at and until are unix seconds");
            return false;
        }

        p.TryGetString("reason", out string? reason);
        p.TryGetString("by", out string? by);
        p.TryGetString("desc", out string? desc);
        ban = new BanEntry(kind, who, reason ?? string.Empty, by ?? "user", at, until, desc);
        error = null;
        return true;
    }

    private static bool TryLong(ApiParams p, string name, long fallback, out long value)
    {
        value = fallback;
        if (!p.TryGetJson(name, out JsonElement json))
        {
            return p.TryGetString(name, out string? text) != ParamStatus.Ok || long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out value);
        }

        return json.ValueKind switch
        {
            JsonValueKind.Number => json.TryGetInt64(out value),
            JsonValueKind.String => long.TryParse(json.GetString(), System.Globalization.CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    /// <summary>A v4 ban: <c>{"who","as","reason","by","at","until"}</c>.</summary>
    private static void WriteV4(Utf8JsonWriter writer, BanEntry ban)
    {
        writer.WriteStartObject();
        writer.WriteString("who", ban.Who);
        writer.WriteString("as", V4Name(ban.As));
        writer.WriteString("reason", ban.Reason);
        writer.WriteString("by", ban.By);
        writer.WriteNumber("at", ban.At);
        writer.WriteNumber("until", ban.Until);
        writer.WriteEndObject();
    }

    private static void WriteV3(Utf8JsonWriter writer, BanEntry ban)
    {
        writer.WriteStartObject();
        writer.WriteString("who", ban.Who);
        writer.WriteString("as", V3Name(ban.As));
        writer.WriteString("reason", ban.Reason);
        writer.WriteString("desc", ban.Desc ?? string.Empty);
        writer.WriteString("by", ban.By);
        writer.WriteNumber("until", ban.Until);
        writer.WriteEndObject();
    }

    private static ApiResponse ListV3(ApiCall call)
    {
        PageRequest page = Paging.Parse(call.Query);
        return SecurityJson.V3Page(Paging.Apply(call.Context.Broker.Banned.List(), page, null, static b => b, reportHasNext: false), WriteV3);
    }

    // The v3 answer echoes the ban.
    private static ApiResponse CreateV3(ApiCall call)
    {
        if (!TryRead(call, out BanEntry? ban, out ApiResponse? error))
        {
            return error;
        }

        call.Context.Broker.Banned.Add(ban);
        return SecurityJson.Raw(ban, WriteV3);
    }

    // DELETE /banned/{who}?as=client_id → "ok".
    private static ApiResponse DeleteV3(ApiCall call)
    {
        if (ParseKind(call.Query.Get("as") ?? "client_id") is not { } kind)
        {
            return V4.Error(ResultCode.BadParameter, "as must be client_id, username or ip_address");
        }

        call.Context.Broker.Banned.Remove(kind, call.Route("who"));
        return V3.String("ok");
    }
}
