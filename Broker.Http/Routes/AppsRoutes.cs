using Broker.Http.Auth;
using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// <c>/apps</c>: the AppID/AppSecret pairs that may call the API (EMQX's <c>emqx_mgmt_api_apps</c>). A secret is
/// shown once, in the answer to its creation, and never again: the store keeps only its hash.
/// </summary>
internal static class AppsRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/apps", "list_apps", "List Applications", List)
            .Get("/apps/{appid}", "lookup_app", "Lookup Application", Lookup)
            .Post("/apps", "add_app", "Add Application", Add)
            .Put("/apps/{appid}", "update_app", "Update Application", Update)
            .Delete("/apps/{appid}", "del_app", "Delete Application", Delete);
    }

    private static AppDto ToDto(ApiApp app) => new(app.AppId, app.Name, app.Description, app.Status, app.Expired);

    private static ApiResponse List(ApiCall call)
    {
        var apps = new List<AppDto>();
        foreach (ApiApp app in call.Context.Apps.List())
        {
            apps.Add(ToDto(app));
        }

        return V4.Ok<IReadOnlyList<AppDto>>(apps, HttpJsonContext.Default.IReadOnlyListAppDto);
    }

    private static ApiResponse Lookup(ApiCall call)
        => call.Context.Apps.Find(call.Route("appid")) is { } app
            ? V4.Ok(ToDto(app), HttpJsonContext.Default.AppDto)
            : V4.Ok(new Dictionary<string, long>(), HttpJsonContext.Default.DictionaryStringInt64);

    private static ApiResponse Add(ApiCall call)
    {
        ApiParams p = call.Params;
        if (p.TryGetString("app_id", out string? appId) != ParamStatus.Ok || string.IsNullOrEmpty(appId))
        {
            return V4.Error(ResultCode.MissingParameter, "app_id is required and must be a string");
        }

        if (!TryReadFields(p, out string? name, out string? desc, out bool? status, out long? expired, out ApiResponse? error))
        {
            return error;
        }

        if (p.TryGetString("secret", out string? secret) == ParamStatus.Invalid)
        {
            return V4.Error(ResultCode.BadParameter, "secret must be a string");
        }

        return call.Context.Apps.Add(appId, name ?? appId, secret, desc, status ?? true, expired, out string shown) switch
        {
            AddAppResult.Added => V4.Ok(new AppSecretDto(shown), HttpJsonContext.Default.AppSecretDto),
            AddAppResult.AlreadyExists => V4.Error(ResultCode.Unknown, "already_existed"),
            _ => V4.Error(ResultCode.BadParameter, "bad app_id"),
        };
    }

    private static ApiResponse Update(ApiCall call)
    {
        if (!TryReadFields(call.Params, out string? name, out string? desc, out bool? status, out long? expired, out ApiResponse? error))
        {
            return error;
        }

        bool clearExpired = call.Params.TryGetString("expired", out string? text) == ParamStatus.Ok && text == "undefined";
        return call.Context.Apps.Update(call.Route("appid"), name, desc, status, expired, clearExpired)
            ? V4.Ok()
            : V4.Error(ResultCode.Unknown, "not_found");
    }

    private static ApiResponse Delete(ApiCall call)
    {
        call.Context.Apps.Delete(call.Route("appid"));
        return V4.Ok();
    }

    private static bool TryReadFields(ApiParams p, out string? name, out string? desc, out bool? status, out long? expired, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out ApiResponse? error)
    {
        status = null;
        expired = null;
        error = null;
        if (p.TryGetString("name", out name) == ParamStatus.Invalid || p.TryGetString("desc", out desc) == ParamStatus.Invalid)
        {
            desc = null;
            error = V4.Error(ResultCode.BadParameter, "name and desc must be strings");
            return false;
        }

        switch (p.TryGetBool("status", out bool enabled))
        {
            case ParamStatus.Ok:
                status = enabled;
                break;
            case ParamStatus.Invalid:
                error = V4.Error(ResultCode.BadParameter, "status must be true or false");
                return false;
        }

        switch (p.TryGetLong("expired", out long seconds))
        {
            case ParamStatus.Ok:
                expired = seconds;
                break;
            case ParamStatus.Invalid when p.TryGetString("expired", out string? text) != ParamStatus.Ok || text != "undefined":
                error = V4.Error(ResultCode.BadParameter, "expired must be unix seconds or \"undefined\"");
                return false;
        }

        return true;
    }
}
