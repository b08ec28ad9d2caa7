using System.Text.Json;
using Broker.Core.Security;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// The built-in ACL: the contract's pre-4.3 <c>/emqx_acl</c> (<c>login</c>, <c>topic</c>, <c>allow</c>, <c>action</c>;
/// login is a username or <c>$all</c>) and EMQX 4.3+'s <c>/acl</c> (behaviour doc 2.8) over the same rules, plus the
/// per-client ACL cache (<c>/clients/{clientid}/acl_cache</c>). <c>pubsub</c> is stored as a pub and a sub rule; the
/// 4.3+ lists show them apart, <c>/emqx_acl</c> shows a matching pair as one <c>pubsub</c> row.
/// </summary>
internal static class AclRoutes
{
    /// <summary>EMQX's default page size for the mnesia ACL lists (<c>emqx_acl_mnesia_api.erl</c>).</summary>
    private const int AclDefaultLimit = 50;

    public static void Map(RouteTable routes)
    {
        routes
            .Get("/emqx_acl", "list_emqx_acl", "List ACL rules", ListEmqxAcl)
            .Post("/emqx_acl", "add_emqx_acl", "Add ACL rules (array: batch)", AddEmqxAcl)
            .Delete("/emqx_acl/{login}/{*topic}", "delete_emqx_acl", "Delete ACL rules of a login and topic", DeleteEmqxAcl)
            .Get("/acl/clientid", "list_clientid_acl", "List clientid ACL rules", call => List(call, AclTarget.ClientId))
            .Get("/acl/username", "list_username_acl", "List username ACL rules", call => List(call, AclTarget.Username))
            .Get("/acl/$all", "list_all_acl", "List $all ACL rules", call => List(call, AclTarget.All))
            .Get("/acl/clientid/{clientid}", "lookup_clientid_acl", "Lookup the ACL rules of a clientid", call => Lookup(call, AclTarget.ClientId, "clientid"))
            .Get("/acl/username/{username}", "lookup_username_acl", "Lookup the ACL rules of a username", call => Lookup(call, AclTarget.Username, "username"))
            .Post("/acl", "add_acl", "Add ACL rules (array: batch)", Add)
            .Delete("/acl/clientid/{clientid}/topic/{topic}", "delete_clientid_acl", "Delete a clientid ACL rule", call => Delete(call, AclTarget.ClientId, "clientid"))
            .Delete("/acl/username/{username}/topic/{topic}", "delete_username_acl", "Delete a username ACL rule", call => Delete(call, AclTarget.Username, "username"))
            .Delete("/acl/$all/topic/{topic}", "delete_all_acl", "Delete a $all ACL rule", call => Delete(call, AclTarget.All, null))
            .Get("/clients/{clientid}/acl_cache", "list_acl_cache", "List the ACL cache of a client", ListCache)
            .Delete("/clients/{clientid}/acl_cache", "clean_acl_cache", "Clean the ACL cache of a client", CleanCache);
    }

    private static string ActionName(AclAction action) => action == AclAction.Publish ? "pub" : "sub";

    private static string AccessName(AclAccess access) => access == AclAccess.Allow ? "allow" : "deny";

    private static void WriteWho(Utf8JsonWriter writer, AclRule rule)
    {
        switch (rule.Target)
        {
            case AclTarget.ClientId:
                writer.WriteString("clientid", rule.Who);
                break;
            case AclTarget.Username:
                writer.WriteString("username", rule.Who);
                break;
            default:
                writer.WriteString("all", AclRule.AllWho);
                break;
        }
    }

    private static void WriteRule(Utf8JsonWriter writer, AclRule rule)
    {
        writer.WriteStartObject();
        WriteWho(writer, rule);
        writer.WriteString("topic", rule.Topic);
        writer.WriteString("action", ActionName(rule.Action));
        writer.WriteString("access", AccessName(rule.Access));
        writer.WriteEndObject();
    }

    // Filters as EMQX 4.4: clientid|username exact, _like_clientid|_like_username, topic, action, access.
    private static ApiResponse List(ApiCall call, AclTarget target)
    {
        PageRequest page = Paging.Parse(call.Query, AclDefaultLimit);
        QueryFilter<AclRule> filter = new QueryFilter<AclRule>(call.Query)
            .Exact("topic", static r => r.Topic)
            .Exact("action", static r => ActionName(r.Action))
            .Exact("access", static r => AccessName(r.Access));
        if (target == AclTarget.ClientId)
        {
            filter.Exact("clientid", static r => r.Who).Like("_like_clientid", static r => r.Who);
        }
        else if (target == AclTarget.Username)
        {
            filter.Exact("username", static r => r.Who).Like("_like_username", static r => r.Who);
        }

        PageResult<AclRule> result = Paging.Apply(call.Context.Broker.Acl.List(target), page, filter.Build(), static r => r);
        return SecurityJson.V4Page(result, WriteRule);
    }

    private static ApiResponse Lookup(ApiCall call, AclTarget target, string routeName)
        => SecurityJson.V4List(call.Context.Broker.Acl.List(target, call.Route(routeName)), WriteRule);

    // Body: {"clientid"|"username"|neither, "topic", "action": pub|sub|pubsub, "access": allow|deny}; an array is a
    // batch. The answer echoes each rule with "result":"ok"; a bad single rule is {"message":"{add,…}"} as EMQX.
    private static ApiResponse Add(ApiCall call)
    {
        IReadOnlyList<ApiParams> items = SecurityJson.Items(call, out bool isBatch);
        var echoes = new List<(AclTarget Target, string? Who, string Topic, string Action, string Access, string Result)>(items.Count);
        foreach (ApiParams item in items)
        {
            AclTarget target = AclTarget.All;
            string? who = null;
            if (item.TryGetString("clientid", out string? clientId) == ParamStatus.Ok && !string.IsNullOrEmpty(clientId))
            {
                (target, who) = (AclTarget.ClientId, clientId);
            }
            else if (item.TryGetString("username", out string? userName) == ParamStatus.Ok && !string.IsNullOrEmpty(userName))
            {
                (target, who) = (AclTarget.Username, userName);
            }

            item.TryGetString("topic", out string? topic);
            item.TryGetString("action", out string? action);
            item.TryGetString("access", out string? access);
            bool valid = !string.IsNullOrEmpty(topic) && action is "pub" or "sub" or "pubsub" && access is "allow" or "deny";
            if (!valid)
            {
                if (!isBatch)
                {
                    return V4.Message($"{{add,#{{topic => {topic ?? "undefined"},action => {action ?? "undefined"},access => {access ?? "undefined"}}}}}");
                }

                echoes.Add((target, who, topic ?? string.Empty, action ?? string.Empty, access ?? string.Empty, "error"));
                continue;
            }

            AddRule(call.Context.Broker.Acl, target, who, topic!, action!, access == "allow" ? AclAccess.Allow : AclAccess.Deny);
            echoes.Add((target, who, topic!, action!, access!, "ok"));
        }

        Action<Utf8JsonWriter, (AclTarget Target, string? Who, string Topic, string Action, string Access, string Result)> write = static (writer, e) =>
        {
            writer.WriteStartObject();
            writer.WriteString(e.Target switch { AclTarget.ClientId => "clientid", AclTarget.Username => "username", _ => "all" }, e.Who ?? AclRule.AllWho);
            writer.WriteString("topic", e.Topic);
            writer.WriteString("action", e.Action);
            writer.WriteString("access", e.Access);
            writer.WriteString("result", e.Result);
            writer.WriteEndObject();
        };
        return isBatch ? SecurityJson.V4List(echoes, write) : SecurityJson.V4Data(echoes[0], write);
    }

    private static void AddRule(AclDatabase acl, AclTarget target, string? who, string topic, string action, AclAccess access)
    {
        if (action is "pub" or "pubsub")
        {
            acl.Add(target, who, topic, AclAction.Publish, access);
        }

        if (action is "sub" or "pubsub")
        {
            acl.Add(target, who, topic, AclAction.Subscribe, access);
        }
    }

    private static ApiResponse Delete(ApiCall call, AclTarget target, string? routeName)
    {
        call.Context.Broker.Acl.Remove(target, routeName is null ? null : call.Route(routeName), call.Route("topic"));
        return V4.Ok();
    }

    // /emqx_acl: rows {login, topic, allow, action}; a pub and a sub rule of the same login, topic and access are one pubsub row.
    private static ApiResponse ListEmqxAcl(ApiCall call)
    {
        PageRequest page = Paging.Parse(call.Query);
        var rows = new List<(string Login, string Topic, bool Allow, string Action)>();
        var seen = new HashSet<(AclTarget, string, string, AclAccess)>();
        IReadOnlyList<AclRule> rules = call.Context.Broker.Acl.ListAll();
        foreach (AclRule rule in rules)
        {
            var key = (rule.Target, rule.Who, rule.Topic, rule.Access);
            if (!seen.Add(key))
            {
                continue;
            }

            bool both = false;
            foreach (AclRule other in rules)
            {
                if (other.Action != rule.Action && (other.Target, other.Who, other.Topic, other.Access) == key)
                {
                    both = true;
                    break;
                }
            }

            rows.Add((rule.Who, rule.Topic, rule.Access == AclAccess.Allow, both ? "pubsub" : ActionName(rule.Action)));
        }

        PageResult<(string Login, string Topic, bool Allow, string Action)> result = Paging.Apply(rows, page, null, static r => r, reportHasNext: false);
        return SecurityJson.V4Page(result, static (writer, row) =>
        {
            writer.WriteStartObject();
            writer.WriteString("topic", row.Topic);
            writer.WriteString("login", row.Login);
            writer.WriteBoolean("allow", row.Allow);
            writer.WriteString("action", row.Action);
            writer.WriteEndObject();
        });
    }

    // The contract: an array of {topic, login, allow, action}; answers {"code":0,"data":{"<login>":"ok"}}.
    private static ApiResponse AddEmqxAcl(ApiCall call)
    {
        IReadOnlyList<ApiParams> items = SecurityJson.Items(call, out _);
        var results = new List<KeyValuePair<string, string>>(items.Count);
        foreach (ApiParams item in items)
        {
            if (item.TryGetString("login", out string? login) != ParamStatus.Ok || string.IsNullOrEmpty(login)
                || item.TryGetString("topic", out string? topic) != ParamStatus.Ok || string.IsNullOrEmpty(topic))
            {
                return V4.Error(ResultCode.MissingParameter, "login and topic are required strings");
            }

            if (item.TryGetBool("allow", out bool allow) != ParamStatus.Ok)
            {
                return V4.Error(ResultCode.BadParameter, "allow must be true or false");
            }

            string action = item.TryGetString("action", out string? a) == ParamStatus.Ok && a is not null ? a : "pubsub";
            if (action is not ("pub" or "sub" or "pubsub"))
            {
                return V4.Error(ResultCode.BadParameter, "action must be pub, sub or pubsub");
            }

            (AclTarget target, string? who) = login == AclRule.AllWho ? (AclTarget.All, (string?)null) : (AclTarget.Username, login);
            AddRule(call.Context.Broker.Acl, target, who, topic, action, allow ? AclAccess.Allow : AclAccess.Deny);
            results.Add(new(login, "ok"));
        }

        return SecurityJson.V4Results(results);
    }

    private static ApiResponse DeleteEmqxAcl(ApiCall call)
    {
        string login = call.Route("login");
        string topic = call.Route("topic");
        AclDatabase acl = call.Context.Broker.Acl;
        if (login == AclRule.AllWho)
        {
            acl.Remove(AclTarget.All, null, topic);
        }
        else
        {
            acl.Remove(AclTarget.Username, login, topic);
        }

        return V4.Ok();
    }

    // {"data":[{"updated_time":1582180824571,"topic":"test","result":"allow","access":"publish"}],"code":0}
    private static ApiResponse ListCache(ApiCall call)
    {
        IReadOnlyList<AclCacheEntry>? cache = call.Context.Broker.GetAclCache(call.Route("clientid"));
        if (cache is null)
        {
            return V4.Error(ResultCode.ClientNotOnline, "client_not_found");
        }

        return SecurityJson.V4List(cache, static (writer, entry) =>
        {
            writer.WriteStartObject();
            writer.WriteString("access", entry.Action == AclAction.Publish ? "publish" : "subscribe");
            writer.WriteString("topic", entry.Topic);
            writer.WriteString("result", AccessName(entry.Access));
            writer.WriteNumber("updated_time", entry.UpdatedTime);
            writer.WriteEndObject();
        });
    }

    private static ApiResponse CleanCache(ApiCall call)
        => call.Context.Broker.ClearAclCache(call.Route("clientid")) ? V4.Ok() : V4.Error(ResultCode.ClientNotOnline, "client_not_found");
}
