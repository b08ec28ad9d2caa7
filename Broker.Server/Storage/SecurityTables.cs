using System.Text.Json;
using Broker.Core;
using Broker.Core.Security;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Storage;

/// <summary>
/// Keeps the user database, the ACL rules and the banned list in the <c>users</c>, <c>acl</c> and <c>banned</c> tables
/// of the database: restored at start, replaced in one transaction after every change and durable before the change
/// returns, so what the management API answered with code 0 survives a crash. Passwords are kept only as their salted
/// hashes. Entries given in configuration (<c>--user</c>, <c>--acl</c>, <c>--ban</c>) are applied again at every start
/// and are not stored, so removing one from the configuration removes it. A <c>security.json</c> left by an earlier
/// version is imported once (into empty tables) and renamed <c>security.json.imported</c>.
/// </summary>
internal sealed class SecurityTables
{
    public const string LegacyFileName = "security.json";

    private readonly SqliteStore _store;
    private readonly MqttBroker _broker;
    private readonly Lock _sync = new();
    private readonly HashSet<(UserKind, string)> _configUsers = [];
    private readonly HashSet<(AclTarget, string, string, AclAction, AclAccess)> _configRules = [];
    private readonly HashSet<(BanKind, string)> _configBans = [];

    private SecurityTables(SqliteStore store, MqttBroker broker)
    {
        _store = store;
        _broker = broker;
    }

    /// <summary>Restores the tables (after a one-time import of a legacy file), applies the configuration's entries, then saves on every change.</summary>
    public static SecurityTables Open(SqliteStore store, string dataDirectory, ServerOptions options, MqttBroker broker, ILogger logger)
    {
        var tables = new SecurityTables(store, broker);
        string legacy = Path.Combine(dataDirectory, LegacyFileName);
        bool imported = false;
        if (File.Exists(legacy) && !store.HasSecurity())
        {
            tables.Load(legacy);
            imported = true;
        }
        else
        {
            foreach (StoredUser user in store.LoadUsers())
            {
                broker.Users.Restore(user);
            }

            foreach (AclRule rule in store.LoadAcl())
            {
                broker.Acl.Restore(rule);
            }

            foreach (BanEntry ban in store.LoadBans())
            {
                broker.Banned.Restore(ban);
            }
        }

        foreach (UserSpec user in options.Users)
        {
            tables._configUsers.Add((user.Kind, user.Login));
        }

        foreach (AclRuleSpec rule in options.AclRules)
        {
            string who = rule.Target == AclTarget.All ? AclRule.AllWho : rule.Who!;
            foreach (AclAction action in (ReadOnlySpan<AclAction>)[AclAction.Publish, AclAction.Subscribe])
            {
                if (rule.Action == "pubsub" || rule.Action == (action == AclAction.Publish ? "pub" : "sub"))
                {
                    tables._configRules.Add((rule.Target, who, rule.Topic, action, rule.Access));
                }
            }
        }

        foreach (BanSpec ban in options.Bans)
        {
            tables._configBans.Add((ban.Kind, ban.Who));
        }

        SecurityBootstrap.Apply(options, broker);
        if (imported)
        {
            tables.Save();
            File.Move(legacy, legacy + ".imported", overwrite: true);
            StoreLog.Imported(logger, legacy, legacy + ".imported");
        }

        broker.Users.Changed += tables.Save;
        broker.Acl.Changed += tables.Save;
        broker.Banned.Changed += tables.Save;
        return tables;
    }

    /// <summary>Reads a legacy <c>security.json</c> into the broker.</summary>
    private void Load(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = document.RootElement;
        if (root.TryGetProperty("users", out JsonElement users))
        {
            foreach (JsonElement u in users.EnumerateArray())
            {
                _broker.Users.Restore(new StoredUser(
                    Enum.Parse<UserKind>(u.GetProperty("kind").GetString()!),
                    u.GetProperty("login").GetString()!,
                    Convert.FromBase64String(u.GetProperty("password_hash").GetString()!),
                    Enum.Parse<PasswordHashAlgorithm>(u.GetProperty("algorithm").GetString()!),
                    u.GetProperty("is_superuser").GetBoolean(),
                    u.GetProperty("created_at").GetInt64()));
            }
        }

        if (root.TryGetProperty("acl", out JsonElement rules))
        {
            foreach (JsonElement r in rules.EnumerateArray())
            {
                _broker.Acl.Restore(new AclRule(
                    Enum.Parse<AclTarget>(r.GetProperty("target").GetString()!),
                    r.GetProperty("who").GetString()!,
                    r.GetProperty("topic").GetString()!,
                    Enum.Parse<AclAction>(r.GetProperty("action").GetString()!),
                    Enum.Parse<AclAccess>(r.GetProperty("access").GetString()!),
                    r.GetProperty("created_at").GetInt64()));
            }
        }

        if (root.TryGetProperty("banned", out JsonElement bans))
        {
            foreach (JsonElement b in bans.EnumerateArray())
            {
                _broker.Banned.Restore(new BanEntry(
                    Enum.Parse<BanKind>(b.GetProperty("as").GetString()!),
                    b.GetProperty("who").GetString()!,
                    b.GetProperty("reason").GetString()!,
                    b.GetProperty("by").GetString()!,
                    b.GetProperty("at").GetInt64(),
                    b.GetProperty("until").GetInt64(),
                    b.TryGetProperty("desc", out JsonElement desc) ? desc.GetString() : null));
            }
        }
    }

    /// <summary>Writes the three tables; serialized so two changes never interleave; durable on return.</summary>
    public void Save()
    {
        lock (_sync)
        {
            var users = new List<StoredUser>();
            foreach (StoredUser user in _broker.Users.Export())
            {
                if (!_configUsers.Contains((user.Kind, user.Login)))
                {
                    users.Add(user);
                }
            }

            var rules = new List<AclRule>();
            var all = new List<AclRule>(_broker.Acl.ListAll());
            all.Reverse();
            foreach (AclRule rule in all)
            {
                if (!_configRules.Contains((rule.Target, rule.Who, rule.Topic, rule.Action, rule.Access)))
                {
                    rules.Add(rule);
                }
            }

            var bans = new List<BanEntry>();
            foreach (BanEntry ban in _broker.Banned.List())
            {
                if (!_configBans.Contains((ban.As, ban.Who)))
                {
                    bans.Add(ban);
                }
            }

            _store.ReplaceSecurity(users, rules, bans);
        }
    }
}
