using System.Text.Json;
using Broker.Core.Security;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// The built-in user database: the contract's pre-4.3 <c>/auth_user</c> (<c>login</c>, <c>password</c>,
/// <c>is_superuser</c>; login is a username, as <c>auth.mnesia.as = username</c>) and EMQX 4.3+'s
/// <c>/auth_username</c> and <c>/auth_clientid</c> (behaviour doc 2.7) over the same store. Passwords are stored
/// salted and hashed; the 4.3+ routes never return them, <c>/auth_user</c> shows the stored digest as the contract does.
/// </summary>
internal static class AuthRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/auth_user", "list_auth_users", "List authentication users", ListAuthUser)
            .Get("/auth_user/{login}", "lookup_auth_user", "Lookup an authentication user", LookupAuthUser)
            .Post("/auth_user", "add_auth_users", "Add authentication users (array: batch)", AddAuthUser)
            .Put("/auth_user/{login}", "update_auth_user", "Update an authentication user", UpdateAuthUser)
            .Delete("/auth_user/{login}", "delete_auth_user", "Delete an authentication user", DeleteAuthUser)
            .Get("/auth_username", "list_username", "List username auth rules", call => List(call, UserKind.Username))
            .Get("/auth_username/{username}", "lookup_username", "Lookup username info", call => Lookup(call, UserKind.Username, "username"))
            .Post("/auth_username", "add_username", "Add username auth rule", call => Add(call, UserKind.Username))
            .Put("/auth_username/{username}", "update_username", "Update username auth rule", call => Update(call, UserKind.Username, "username"))
            .Delete("/auth_username/{username}", "delete_username", "Delete username auth rule", call => Delete(call, UserKind.Username, "username"))
            .Get("/auth_clientid", "list_clientid", "List clientid auth rules", call => List(call, UserKind.ClientId))
            .Get("/auth_clientid/{clientid}", "lookup_clientid", "Lookup clientid info", call => Lookup(call, UserKind.ClientId, "clientid"))
            .Post("/auth_clientid", "add_clientid", "Add clientid auth rule", call => Add(call, UserKind.ClientId))
            .Put("/auth_clientid/{clientid}", "update_clientid", "Update clientid auth rule", call => Update(call, UserKind.ClientId, "clientid"))
            .Delete("/auth_clientid/{clientid}", "delete_clientid", "Delete clientid auth rule", call => Delete(call, UserKind.ClientId, "clientid"));
    }

    private static string FieldName(UserKind kind) => kind == UserKind.Username ? "username" : "clientid";

    private static void WriteLogin(Utf8JsonWriter writer, UserSnapshot user)
    {
        writer.WriteStartObject();
        writer.WriteString(FieldName(user.Kind), user.Login);
        writer.WriteNumber("created_at", user.CreatedAt);
        writer.WriteEndObject();
    }

    private static void WriteAuthUser(Utf8JsonWriter writer, UserSnapshot user)
    {
        writer.WriteStartObject();
        writer.WriteString("login", user.Login);
        writer.WriteString("password", user.PasswordDigest);
        writer.WriteBoolean("is_superuser", user.IsSuperuser);
        writer.WriteEndObject();
    }

    // 4.3+: exact username|clientid and _like_ filters, newest first, meta with hasnext.
    private static ApiResponse List(ApiCall call, UserKind kind)
    {
        PageRequest page = Paging.Parse(call.Query);
        string field = FieldName(kind);
        Func<UserSnapshot, bool>? filter = new QueryFilter<UserSnapshot>(call.Query)
            .Exact(field, static u => u.Login)
            .Like("_like_" + field, static u => u.Login)
            .Build();
        PageResult<UserSnapshot> result = Paging.Apply(call.Context.Broker.Users.List(kind), page, filter, static u => u);
        return SecurityJson.V4Page(result, WriteLogin);
    }

    private static ApiResponse Lookup(ApiCall call, UserKind kind, string routeName)
        => call.Context.Broker.Users.Find(kind, call.Route(routeName)) is { } user
            ? SecurityJson.V4Data(user, WriteLogin)
            : SecurityJson.V4EmptyObject();

    // EMQX: a single add answers {"code":0}, or {"message":"existed"} with no code; a validation failure names the
    // field ({"message":"login"} / {"message":"password"}). An array is a batch: {"code":0,"data":{"<id>":"ok"|…}}.
    private static ApiResponse Add(ApiCall call, UserKind kind)
    {
        IReadOnlyList<ApiParams> items = SecurityJson.Items(call, out bool isBatch);
        string field = FieldName(kind);
        var results = new List<KeyValuePair<string, string>>(items.Count);
        foreach (ApiParams item in items)
        {
            string outcome;
            string key;
            if (item.TryGetString(field, out string? login) != ParamStatus.Ok || string.IsNullOrEmpty(login))
            {
                (key, outcome) = (login ?? string.Empty, "login");
            }
            else if (item.TryGetString("password", out string? password) != ParamStatus.Ok || password is null)
            {
                (key, outcome) = (login, "password");
            }
            else
            {
                key = login;
                outcome = call.Context.Broker.Users.TryAdd(kind, login, password) ? "ok" : "existed";
            }

            if (!isBatch)
            {
                return outcome == "ok" ? V4.Ok() : V4.Message(outcome);
            }

            results.Add(new(key, outcome));
        }

        return SecurityJson.V4Results(results);
    }

    private static ApiResponse Update(ApiCall call, UserKind kind, string routeName)
    {
        if (call.Params.TryGetString("password", out string? password) != ParamStatus.Ok || password is null)
        {
            return V4.Message("password");
        }

        return call.Context.Broker.Users.TryUpdate(kind, call.Route(routeName), password) ? V4.Ok() : V4.Message("noexisted");
    }

    private static ApiResponse Delete(ApiCall call, UserKind kind, string routeName)
    {
        call.Context.Broker.Users.Remove(kind, call.Route(routeName));
        return V4.Ok();
    }

    private static ApiResponse ListAuthUser(ApiCall call)
    {
        PageRequest page = Paging.Parse(call.Query);
        PageResult<UserSnapshot> result = Paging.Apply(call.Context.Broker.Users.List(UserKind.Username), page, null, static u => u, reportHasNext: false);
        return SecurityJson.V4Page(result, WriteAuthUser);
    }

    private static ApiResponse LookupAuthUser(ApiCall call)
        => call.Context.Broker.Users.Find(UserKind.Username, call.Route("login")) is { } user
            ? SecurityJson.V4List([user], WriteAuthUser)
            : SecurityJson.V4List(Array.Empty<UserSnapshot>(), WriteAuthUser);

    // The contract: an array of {login, password, is_superuser}; answers {"code":0,"data":{"<login>":"ok"}}. A single
    // object is accepted too and answered the same way.
    private static ApiResponse AddAuthUser(ApiCall call)
    {
        IReadOnlyList<ApiParams> items = SecurityJson.Items(call, out _);
        var results = new List<KeyValuePair<string, string>>(items.Count);
        foreach (ApiParams item in items)
        {
            if (item.TryGetString("login", out string? login) != ParamStatus.Ok || string.IsNullOrEmpty(login))
            {
                return V4.Error(ResultCode.MissingParameter, "login is required and must be a string");
            }

            if (item.TryGetString("password", out string? password) != ParamStatus.Ok || password is null)
            {
                return V4.Error(ResultCode.MissingParameter, "password is required and must be a string");
            }

            if (item.TryGetBool("is_superuser", out bool superuser) == ParamStatus.Invalid)
            {
                return V4.Error(ResultCode.BadParameter, "is_superuser must be true or false");
            }

            results.Add(new(login, call.Context.Broker.Users.TryAdd(UserKind.Username, login, password, superuser) ? "ok" : "existed"));
        }

        return SecurityJson.V4Results(results);
    }

    private static ApiResponse UpdateAuthUser(ApiCall call)
    {
        ApiParams p = call.Params;
        if (p.TryGetString("password", out string? password) != ParamStatus.Ok || password is null)
        {
            return V4.Error(ResultCode.MissingParameter, "password is required and must be a string");
        }

        bool? superuser = null;
        switch (p.TryGetBool("is_superuser", out bool flag))
        {
            case ParamStatus.Ok:
                superuser = flag;
                break;
            case ParamStatus.Invalid:
                return V4.Error(ResultCode.BadParameter, "is_superuser must be true or false");
        }

        return call.Context.Broker.Users.TryUpdate(UserKind.Username, call.Route("login"), password, superuser)
            ? V4.Ok()
            : V4.Error(ResultCode.UserNotFound, "not_found");
    }

    private static ApiResponse DeleteAuthUser(ApiCall call)
    {
        call.Context.Broker.Users.Remove(UserKind.Username, call.Route("login"));
        return V4.Ok();
    }
}
