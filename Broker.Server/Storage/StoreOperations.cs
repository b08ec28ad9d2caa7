using Broker.Core.Persistence;
using Broker.Core.Security;
using Broker.Core.Sessions;
using Microsoft.Data.Sqlite;

namespace Broker.Server.Storage;

/// <summary>One queued write; runs on the writer thread inside the batch's transaction.</summary>
internal abstract class StoreOperation
{
    public long Sequence { get; set; }

    public abstract void Execute(Commands commands);
}

/// <summary>The writer's prepared statements, reused for every batch.</summary>
internal sealed class Commands : IDisposable
{
    private readonly List<SqliteCommand> _all = [];

    public Commands(SqliteConnection connection)
    {
        Connection = connection;
        RetainedUpsert = Create(connection, """
            INSERT INTO retained (topic, properties, payload, qos, publisher, username, timestamp, expires_at)
            VALUES ($topic, $properties, $payload, $qos, $publisher, $username, $timestamp, $expires_at)
            ON CONFLICT (topic) DO UPDATE SET properties = excluded.properties, payload = excluded.payload, qos = excluded.qos,
                publisher = excluded.publisher, username = excluded.username, timestamp = excluded.timestamp, expires_at = excluded.expires_at;
            """, "$topic", "$properties", "$payload", "$qos", "$publisher", "$username", "$timestamp", "$expires_at");
        RetainedDelete = Create(connection, "DELETE FROM retained WHERE topic = $topic;", "$topic");
        MessageInsert = Create(connection, """
            INSERT INTO session_messages (id, client_id, topic, properties, payload, qos, retain, publisher, username, timestamp, expires_at)
            VALUES ($id, $client_id, $topic, $properties, $payload, $qos, $retain, $publisher, $username, $timestamp, $expires_at);
            """, "$id", "$client_id", "$topic", "$properties", "$payload", "$qos", "$retain", "$publisher", "$username", "$timestamp", "$expires_at");
        MessageDelete = Create(connection, "DELETE FROM session_messages WHERE id = $id;", "$id");
        SessionUpsert = Create(connection, """
            INSERT INTO sessions (client_id, created_at, expiry_interval, expires_at) VALUES ($client_id, $created_at, $expiry_interval, $expires_at)
            ON CONFLICT (client_id) DO UPDATE SET created_at = excluded.created_at, expiry_interval = excluded.expiry_interval, expires_at = excluded.expires_at;
            """, "$client_id", "$created_at", "$expiry_interval", "$expires_at");
        SubscriptionsDelete = Create(connection, "DELETE FROM subscriptions WHERE client_id = $client_id;", "$client_id");
        SubscriptionInsert = Create(connection, """
            INSERT OR REPLACE INTO subscriptions (client_id, filter, topic_filter, share_group, qos, no_local, retain_as_published, retain_handling, subscription_id)
            VALUES ($client_id, $filter, $topic_filter, $share_group, $qos, $no_local, $rap, $rh, $sub_id);
            """, "$client_id", "$filter", "$topic_filter", "$share_group", "$qos", "$no_local", "$rap", "$rh", "$sub_id");
        SessionDelete = Create(connection, "DELETE FROM sessions WHERE client_id = $client_id;", "$client_id");
        SessionMessagesDelete = Create(connection, "DELETE FROM session_messages WHERE client_id = $client_id;", "$client_id");
        DocumentUpsert = Create(connection, "INSERT OR REPLACE INTO documents (kind, id, json) VALUES ($kind, $id, $json);", "$kind", "$id", "$json");
        DocumentDelete = Create(connection, "DELETE FROM documents WHERE kind = $kind AND id = $id;", "$kind", "$id");
    }

    public SqliteConnection Connection { get; }

    public SqliteTransaction? Transaction { get; private set; }

    public SqliteCommand RetainedUpsert { get; }

    public SqliteCommand RetainedDelete { get; }

    public SqliteCommand MessageInsert { get; }

    public SqliteCommand MessageDelete { get; }

    public SqliteCommand SessionUpsert { get; }

    public SqliteCommand SubscriptionsDelete { get; }

    public SqliteCommand SubscriptionInsert { get; }

    public SqliteCommand SessionDelete { get; }

    public SqliteCommand SessionMessagesDelete { get; }

    public SqliteCommand DocumentUpsert { get; }

    public SqliteCommand DocumentDelete { get; }

    public void SetTransaction(SqliteTransaction transaction)
    {
        Transaction = transaction;
        foreach (SqliteCommand command in _all)
        {
            command.Transaction = transaction;
        }
    }

    /// <summary>Runs a one-off statement in the current transaction (the rare whole-table replacements).</summary>
    public void Run(string sql, params (string Name, object? Value)[] parameters)
    {
        using SqliteCommand command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (SqliteCommand command in _all)
        {
            command.Dispose();
        }
    }

    private SqliteCommand Create(SqliteConnection connection, string sql, params string[] parameters)
    {
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _all.Add(command);
        return command;
    }
}

internal static class CommandExtensions
{
    public static void Run(this SqliteCommand command, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        command.ExecuteNonQuery();
    }
}

internal sealed class RetainedSetOperation(
    string topic, byte[] properties, byte[] payload, byte qos, string? publisher, string? username, long timestamp, long expiresAt) : StoreOperation
{
    public override void Execute(Commands commands)
        => commands.RetainedUpsert.Run(topic, properties, payload, (long)qos, publisher, username, timestamp, expiresAt);
}

internal sealed class RetainedRemoveOperation(string topic) : StoreOperation
{
    public override void Execute(Commands commands) => commands.RetainedDelete.Run(topic);
}

internal sealed class MessageQueueOperation(
    string clientId, byte[] topic, byte[] properties, byte[] payload, byte qos, bool retain, string? publisher, string? username,
    long timestamp, long expiresAt) : StoreOperation
{
    // The message id is the write's sequence: unique, and increasing in queue order.
    public override void Execute(Commands commands)
        => commands.MessageInsert.Run(Sequence, clientId, topic, properties, payload, (long)qos, retain ? 1L : 0L, publisher, username, timestamp, expiresAt);
}

internal sealed class MessageRemoveOperation(long id) : StoreOperation
{
    /// <summary>The message's id: the sequence of its <see cref="MessageQueueOperation"/>.</summary>
    public long Id => id;

    public override void Execute(Commands commands) => commands.MessageDelete.Run(id);
}

internal sealed class SessionSaveOperation(PersistedSession session) : StoreOperation
{
    public override void Execute(Commands commands)
    {
        commands.SessionUpsert.Run(session.ClientId, session.CreatedAt.ToUnixTimeMilliseconds(), (long)session.ExpiryInterval, session.ExpiresAtUnixMilliseconds);
        commands.SubscriptionsDelete.Run(session.ClientId);
        foreach (SubscriptionEntry entry in session.Subscriptions)
        {
            SubscriptionOptions o = entry.Options;
            commands.SubscriptionInsert.Run(session.ClientId, entry.Filter, entry.TopicFilter, entry.ShareGroup, (long)o.QoS,
                o.NoLocal ? 1L : 0L, o.RetainAsPublished ? 1L : 0L, (long)o.RetainHandling, (long)o.SubscriptionIdentifier);
        }
    }
}

internal sealed class SessionDiscardOperation(string clientId) : StoreOperation
{
    public override void Execute(Commands commands)
    {
        commands.SessionDelete.Run(clientId);
        commands.SubscriptionsDelete.Run(clientId);
        commands.SessionMessagesDelete.Run(clientId);
    }
}

internal sealed class DocumentSaveOperation(string kind, string id, byte[] json) : StoreOperation
{
    public override void Execute(Commands commands) => commands.DocumentUpsert.Run(kind, id, json);
}

internal sealed class DocumentDeleteOperation(string kind, string id) : StoreOperation
{
    public override void Execute(Commands commands) => commands.DocumentDelete.Run(kind, id);
}

internal sealed class SecurityReplaceOperation(IReadOnlyList<StoredUser> users, IReadOnlyList<AclRule> rules, IReadOnlyList<BanEntry> bans) : StoreOperation
{
    public override void Execute(Commands commands)
    {
        commands.Run("DELETE FROM users; DELETE FROM acl; DELETE FROM banned;");
        foreach (StoredUser u in users)
        {
            commands.Run(
                "INSERT OR REPLACE INTO users (kind, login, password_hash, algorithm, is_superuser, created_at) VALUES ($k, $l, $h, $a, $s, $c);",
                ("$k", u.Kind.ToString()), ("$l", u.Login), ("$h", u.PasswordHash), ("$a", u.Algorithm.ToString()), ("$s", u.IsSuperuser ? 1L : 0L), ("$c", u.CreatedAt));
        }

        long position = 0;
        foreach (AclRule r in rules)
        {
            commands.Run(
                "INSERT INTO acl (position, target, who, topic, action, access, created_at) VALUES ($p, $t, $w, $topic, $action, $access, $c);",
                ("$p", ++position), ("$t", r.Target.ToString()), ("$w", r.Who), ("$topic", r.Topic), ("$action", r.Action.ToString()),
                ("$access", r.Access.ToString()), ("$c", r.CreatedAt));
        }

        foreach (BanEntry b in bans)
        {
            commands.Run(
                "INSERT OR REPLACE INTO banned (as_kind, who, reason, by_who, at, until, description) VALUES ($as, $w, $r, $b, $at, $u, $d);",
                ("$as", b.As.ToString()), ("$w", b.Who), ("$r", b.Reason), ("$b", b.By), ("$at", b.At), ("$u", b.Until), ("$d", b.Desc));
        }
    }
}

internal sealed class AppsReplaceOperation(IReadOnlyList<Broker.Http.Auth.ApiApp> apps) : StoreOperation
{
    public override void Execute(Commands commands)
    {
        commands.Run("DELETE FROM apps;");
        foreach (Broker.Http.Auth.ApiApp a in apps)
        {
            commands.Run(
                "INSERT INTO apps (app_id, name, description, status, expired, secret_hash) VALUES ($id, $n, $d, $s, $e, $h);",
                ("$id", a.AppId), ("$n", a.Name), ("$d", a.Description), ("$s", a.Status ? 1L : 0L), ("$e", a.Expired), ("$h", a.SecretHash));
        }
    }
}
