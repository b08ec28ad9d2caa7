using System.Globalization;
using System.Text.Json;
using Broker.Core;
using Broker.Core.Security;

namespace Broker.Server.Configuration;

/// <summary>A user given in configuration (EMQX's <c>auth.user.N.username/password</c>, <c>auth.client.N.clientid/password</c>).</summary>
internal sealed record UserSpec(UserKind Kind, string Login, string Password, bool IsSuperuser);

/// <summary>An ACL rule given in configuration (a line of EMQX's <c>acl.conf</c>, in <c>emqx_acl_mnesia</c>'s terms).</summary>
internal sealed record AclRuleSpec(AclAccess Access, AclTarget Target, string? Who, string Action, string Topic);

/// <summary>A ban given in configuration: until an absolute time, for a number of seconds from start, or else for 100 years.</summary>
internal sealed record BanSpec(BanKind Kind, string Who, string Reason, long? Until, long? Seconds = null);

/// <summary>
/// Parses the <c>--acl</c>, <c>--user</c> and <c>--ban</c> values (repeatable flags, or arrays in the config file) and
/// loads them into the broker before it accepts a connection, so an operator can lock a broker down before it starts.
/// Each value is either the compact form or a JSON object shaped like the management API's body:
/// <list type="bullet">
/// <item><c>--acl deny,all,sub,test/nosubscribe</c> or <c>{"access":"deny","action":"sub","topic":"test/nosubscribe"}</c>
/// (ACCESS allow|deny; WHO all, clientid:ID or username:NAME; ACTION pub|sub|pubsub; TOPIC the rest, %c/%u allowed).</item>
/// <item><c>--user username:alice:secret</c> or <c>{"username":"alice","password":"secret","is_superuser":false}</c>
/// (KIND username|clientid; the password is the rest after the second colon).</item>
/// <item><c>--ban peerhost,10.0.0.9</c>, <c>--ban clientid,bad-client,3600</c> (seconds) or
/// <c>{"as":"username","who":"mallory","reason":"abuse","until":1893456000}</c>.</item>
/// </list>
/// </summary>
internal static class SecurityBootstrap
{
    private static readonly TimeSpan s_permanent = TimeSpan.FromDays(36_500);

    public static AclRuleSpec ParseAcl(string value)
    {
        if (value.StartsWith('{'))
        {
            using JsonDocument document = ParseObject(value);
            JsonElement root = document.RootElement;
            AclTarget target = AclTarget.All;
            string? who = null;
            if (OptionalString(root, "clientid") is { } clientId)
            {
                (target, who) = (AclTarget.ClientId, clientId);
            }
            else if (OptionalString(root, "username") is { } userName)
            {
                (target, who) = (AclTarget.Username, userName);
            }

            return new AclRuleSpec(ParseAccess(RequiredString(root, "access")), target, who, ParseAction(RequiredString(root, "action")), RequiredTopic(RequiredString(root, "topic")));
        }

        string[] parts = value.Split(',', 4);
        if (parts.Length != 4)
        {
            throw new FormatException($"'{value}' is not ACCESS,WHO,ACTION,TOPIC (for example deny,all,sub,test/nosubscribe).");
        }

        (AclTarget t, string? w) = parts[1] switch
        {
            "all" or "$all" => (AclTarget.All, (string?)null),
            var p when p.StartsWith("clientid:", StringComparison.Ordinal) && p.Length > 9 => (AclTarget.ClientId, p[9..]),
            var p when p.StartsWith("username:", StringComparison.Ordinal) && p.Length > 9 => (AclTarget.Username, p[9..]),
            _ => throw new FormatException($"'{parts[1]}' is not all, clientid:ID or username:NAME."),
        };

        return new AclRuleSpec(ParseAccess(parts[0]), t, w, ParseAction(parts[2]), RequiredTopic(parts[3]));
    }

    public static UserSpec ParseUser(string value)
    {
        if (value.StartsWith('{'))
        {
            using JsonDocument document = ParseObject(value);
            JsonElement root = document.RootElement;
            bool superuser = root.TryGetProperty("is_superuser", out JsonElement flag) && flag.ValueKind == JsonValueKind.True;
            string password = RequiredString(root, "password");
            if (OptionalString(root, "clientid") is { Length: > 0 } clientId)
            {
                return new UserSpec(UserKind.ClientId, clientId, password, superuser);
            }

            string login = OptionalString(root, "username") ?? OptionalString(root, "login")
                ?? throw new FormatException("a user needs \"username\" or \"clientid\".");
            return login.Length > 0 ? new UserSpec(UserKind.Username, login, password, superuser) : throw new FormatException("empty username.");
        }

        string[] parts = value.Split(':', 3);
        if (parts.Length != 3 || parts[1].Length == 0)
        {
            throw new FormatException($"'{value}' is not KIND:LOGIN:PASSWORD (for example username:alice:secret).");
        }

        UserKind kind = parts[0] switch
        {
            "username" => UserKind.Username,
            "clientid" => UserKind.ClientId,
            _ => throw new FormatException($"'{parts[0]}' is not username or clientid."),
        };
        return new UserSpec(kind, parts[1], parts[2], IsSuperuser: false);
    }

    public static BanSpec ParseBan(string value)
    {
        if (value.StartsWith('{'))
        {
            using JsonDocument document = ParseObject(value);
            JsonElement root = document.RootElement;
            long? until = root.TryGetProperty("until", out JsonElement u) && u.ValueKind == JsonValueKind.Number ? u.GetInt64() : null;
            string who = RequiredString(root, "who");
            return new BanSpec(ParseBanKind(RequiredString(root, "as")), who.Length > 0 ? who : throw new FormatException("empty \"who\"."), OptionalString(root, "reason") ?? string.Empty, until);
        }

        string[] parts = value.Split(',', 3);
        if (parts.Length < 2 || parts[1].Length == 0)
        {
            throw new FormatException($"'{value}' is not AS,WHO[,SECONDS] (for example peerhost,10.0.0.9).");
        }

        long? untilFromNow = null;
        if (parts.Length == 3)
        {
            untilFromNow = long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) && seconds > 0
                ? seconds
                : throw new FormatException($"'{parts[2]}' is not a positive number of seconds.");
        }

        return new BanSpec(ParseBanKind(parts[0]), parts[1], "config", Until: null, untilFromNow);
    }

    /// <summary>Loads everything into <paramref name="broker"/>: users (not replacing existing ones), rules in file order, bans.</summary>
    public static void Apply(ServerOptions options, MqttBroker broker)
    {
        foreach (UserSpec user in options.Users)
        {
            broker.Users.TryAdd(user.Kind, user.Login, user.Password, user.IsSuperuser);
        }

        foreach (AclRuleSpec rule in options.AclRules)
        {
            if (rule.Action is "pub" or "pubsub")
            {
                broker.Acl.Add(rule.Target, rule.Who, rule.Topic, AclAction.Publish, rule.Access);
            }

            if (rule.Action is "sub" or "pubsub")
            {
                broker.Acl.Add(rule.Target, rule.Who, rule.Topic, AclAction.Subscribe, rule.Access);
            }
        }

        long now = broker.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        foreach (BanSpec ban in options.Bans)
        {
            long until = ban.Until ?? (now + (ban.Seconds ?? (long)s_permanent.TotalSeconds));
            broker.Banned.Add(new BanEntry(ban.Kind, ban.Who, ban.Reason, "config", now, until));
        }
    }

    private static JsonDocument ParseObject(string value)
    {
        try
        {
            JsonDocument document = JsonDocument.Parse(value);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new FormatException("expected a JSON object.");
            }

            return document;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not valid JSON: {ex.Message}", ex);
        }
    }

    private static string? OptionalString(JsonElement root, string name)
        => root.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.String ? element.GetString() : null;

    private static string RequiredString(JsonElement root, string name)
        => OptionalString(root, name) ?? throw new FormatException($"missing string \"{name}\".");

    private static string RequiredTopic(string topic)
        => topic.Length > 0 ? topic : throw new FormatException("empty topic.");

    private static AclAccess ParseAccess(string value) => value switch
    {
        "allow" => AclAccess.Allow,
        "deny" => AclAccess.Deny,
        _ => throw new FormatException($"'{value}' is not allow or deny."),
    };

    private static string ParseAction(string value) => value is "pub" or "sub" or "pubsub"
        ? value
        : throw new FormatException($"'{value}' is not pub, sub or pubsub.");

    private static BanKind ParseBanKind(string value) => value switch
    {
        "clientid" or "client_id" => BanKind.ClientId,
        "username" => BanKind.Username,
        "peerhost" or "ip_address" => BanKind.PeerHost,
        _ => throw new FormatException($"'{value}' is not clientid, username or peerhost."),
    };
}
