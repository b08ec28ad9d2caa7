using System.Text.Json;
using Broker.Core;
using Broker.Core.Security;

namespace Broker.Server.Configuration;

/// <summary>
/// Keeps the user database, the ACL rules and the banned list in <c>security.json</c> in the data directory: loaded
/// at start, rewritten whole (atomically, flushed to disk) after every change, so what the management API answered
/// with code 0 survives a crash. Passwords are kept only as their salted hashes. Entries given in configuration
/// (<c>--user</c>, <c>--acl</c>, <c>--ban</c>) are applied again at every start and are not written here, so removing
/// one from the configuration removes it.
/// </summary>
internal sealed class SecurityFile
{
    public const string FileName = "security.json";

    private readonly string _path;
    private readonly MqttBroker _broker;
    private readonly Lock _sync = new();
    private readonly HashSet<(UserKind, string)> _configUsers = [];
    private readonly HashSet<(AclTarget, string, string, AclAction, AclAccess)> _configRules = [];
    private readonly HashSet<(BanKind, string)> _configBans = [];

    private SecurityFile(string path, MqttBroker broker)
    {
        _path = path;
        _broker = broker;
    }

    /// <summary>Loads the file if there is one, applies the configuration's entries, then saves on every change.</summary>
    public static SecurityFile Open(string dataDirectory, ServerOptions options, MqttBroker broker)
    {
        var file = new SecurityFile(Path.Combine(dataDirectory, FileName), broker);
        file.Load();
        foreach (UserSpec user in options.Users)
        {
            file._configUsers.Add((user.Kind, user.Login));
        }

        foreach (AclRuleSpec rule in options.AclRules)
        {
            string who = rule.Target == AclTarget.All ? AclRule.AllWho : rule.Who!;
            foreach (AclAction action in (ReadOnlySpan<AclAction>)[AclAction.Publish, AclAction.Subscribe])
            {
                if (rule.Action == "pubsub" || rule.Action == (action == AclAction.Publish ? "pub" : "sub"))
                {
                    file._configRules.Add((rule.Target, who, rule.Topic, action, rule.Access));
                }
            }
        }

        foreach (BanSpec ban in options.Bans)
        {
            file._configBans.Add((ban.Kind, ban.Who));
        }

        SecurityBootstrap.Apply(options, broker);
        broker.Users.Changed += file.Save;
        broker.Acl.Changed += file.Save;
        broker.Banned.Changed += file.Save;
        return file;
    }

    private void Load()
    {
        if (!File.Exists(_path))
        {
            return;
        }

        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(_path));
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

    /// <summary>Writes the three stores; serialized so two changes never interleave their files.</summary>
    public void Save()
    {
        lock (_sync)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteStartArray("users");
                foreach (StoredUser user in _broker.Users.Export())
                {
                    if (_configUsers.Contains((user.Kind, user.Login)))
                    {
                        continue;
                    }

                    json.WriteStartObject();
                    json.WriteString("kind", user.Kind.ToString());
                    json.WriteString("login", user.Login);
                    json.WriteString("password_hash", Convert.ToBase64String(user.PasswordHash));
                    json.WriteString("algorithm", user.Algorithm.ToString());
                    json.WriteBoolean("is_superuser", user.IsSuperuser);
                    json.WriteNumber("created_at", user.CreatedAt);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("acl");
                var rules = new List<AclRule>(_broker.Acl.ListAll());
                rules.Reverse();
                foreach (AclRule rule in rules)
                {
                    if (_configRules.Contains((rule.Target, rule.Who, rule.Topic, rule.Action, rule.Access)))
                    {
                        continue;
                    }

                    json.WriteStartObject();
                    json.WriteString("target", rule.Target.ToString());
                    json.WriteString("who", rule.Who);
                    json.WriteString("topic", rule.Topic);
                    json.WriteString("action", rule.Action.ToString());
                    json.WriteString("access", rule.Access.ToString());
                    json.WriteNumber("created_at", rule.CreatedAt);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("banned");
                foreach (BanEntry ban in _broker.Banned.List())
                {
                    if (_configBans.Contains((ban.As, ban.Who)))
                    {
                        continue;
                    }

                    json.WriteStartObject();
                    json.WriteString("as", ban.As.ToString());
                    json.WriteString("who", ban.Who);
                    json.WriteString("reason", ban.Reason);
                    json.WriteString("by", ban.By);
                    json.WriteNumber("at", ban.At);
                    json.WriteNumber("until", ban.Until);
                    if (ban.Desc is not null)
                    {
                        json.WriteString("desc", ban.Desc);
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            string? directory = Path.GetDirectoryName(_path);
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            string temporary = _path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(buffer.WrittenSpan);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path, overwrite: true);
        }
    }
}
