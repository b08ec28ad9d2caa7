using System.Text;
using Broker.Core.Packets;
using Broker.Core.Persistence;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Security;
using Broker.Core.Sessions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Storage;

/// <summary>
/// The broker's embedded database, <c>broker.db</c> in the data directory (SQLite in WAL mode): apps, users, ACL rules,
/// bans, retained messages, persistent sessions with their subscriptions and queued QoS 1/2 messages, and a generic
/// <c>documents</c> table for JSON-shaped state (rules, resources...).
/// </summary>
/// <remarks>
/// <para>
/// Group commit: every write is an operation queued under a short lock, which gives it a sequence number. One writer
/// thread takes everything queued, runs it in one transaction, commits, then advances <see cref="DurableSequence"/> and
/// calls whoever waits for a sequence it reached (a deferred PUBACK, an API call). Under load a batch holds hundreds
/// of writes for one commit; idle, a write waits for one commit.
/// </para>
/// <para>
/// <c>synchronous=FULL</c>: with WAL, each commit is fsynced, so what was acknowledged survives a power loss, not only
/// a <c>kill -9</c> (NORMAL would be enough for that). Group commit pays one fsync per batch, not per write.
/// </para>
/// <para>
/// A commit that fails (disk full, file gone) faults the store: the error is logged, waiting API calls fail, and no
/// later write is reported durable, so no PUBACK is sent for a message that may not be on disk.
/// </para>
/// </remarks>
internal sealed partial class SqliteStore : IBrokerPersistence, IAsyncDisposable, IDisposable
{
    public const string FileName = "broker.db";

    private const int SchemaVersion = 1;

    private readonly ILogger _logger;

    // The writer thread's scratch sets for cancelling inserts and deletes within one batch.
    private readonly HashSet<long> _removedInBatch = [];
    private readonly HashSet<long> _cancelledInBatch = [];
    private readonly SqliteConnection _connection;
    private readonly object _queueLock = new();
    private readonly Lock _readLock = new();
    private readonly List<(long Sequence, IDurabilityCallback Callback)> _waiters = [];
    private List<StoreOperation> _queue = [];
    private List<StoreOperation> _spare = [];
    private long _sequence;
    private long _durable;
    private Thread? _writer;
    private bool _stopping;
    private Exception? _fault;
    private Commands? _commands;

    private SqliteStore(string path, SqliteConnection connection, ILogger logger)
    {
        Path = path;
        _connection = connection;
        _logger = logger;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    public long DurableSequence => Volatile.Read(ref _durable);

    /// <summary>Writes committed so far (for tests and diagnostics).</summary>
    public long CommittedWrites { get; private set; }

    /// <summary>Transactions committed so far.</summary>
    public long Commits { get; private set; }

    /// <summary>
    /// Opens (or creates) the database and checks it is usable; throws <see cref="StorageException"/> naming the file
    /// and SQLite's reason for a corrupt file, an unwritable directory or a newer schema.
    /// </summary>
    public static SqliteStore Open(string dataDirectory, ILogger logger)
    {
        string path = System.IO.Path.Combine(dataDirectory, FileName);
        SqliteConnection? connection = null;
        try
        {
            Directory.CreateDirectory(dataDirectory);
            connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL;");
            Execute(connection, "PRAGMA synchronous=FULL;");
            // Reads every page: a file overwritten with garbage fails here, not later with lost state.
            string check = Scalar(connection, "PRAGMA quick_check;") as string ?? "no answer";
            if (check != "ok")
            {
                throw new StorageException(path, "integrity check failed: " + check);
            }

            CreateSchema(connection, path);
            var store = new SqliteStore(path, connection, logger);
            store.Start();
            return store;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            connection?.Dispose();
            throw new StorageException(path, ex.Message, ex);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    private static void CreateSchema(SqliteConnection connection, string path)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS apps (app_id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
                status INTEGER NOT NULL, expired INTEGER, secret_hash TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS users (kind TEXT NOT NULL, login TEXT NOT NULL, password_hash BLOB NOT NULL,
                algorithm TEXT NOT NULL, is_superuser INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (kind, login));
            CREATE TABLE IF NOT EXISTS acl (position INTEGER PRIMARY KEY, target TEXT NOT NULL, who TEXT NOT NULL,
                topic TEXT NOT NULL, action TEXT NOT NULL, access TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS banned (as_kind TEXT NOT NULL, who TEXT NOT NULL, reason TEXT NOT NULL, by_who TEXT NOT NULL,
                at INTEGER NOT NULL, until INTEGER NOT NULL, description TEXT, PRIMARY KEY (as_kind, who));
            CREATE TABLE IF NOT EXISTS documents (kind TEXT NOT NULL, id TEXT NOT NULL, json BLOB NOT NULL, PRIMARY KEY (kind, id));
            CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, properties BLOB NOT NULL, payload BLOB NOT NULL,
                qos INTEGER NOT NULL, publisher TEXT, username TEXT, timestamp INTEGER NOT NULL, expires_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL,
                expiry_interval INTEGER NOT NULL, expires_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, topic_filter TEXT NOT NULL,
                share_group TEXT, qos INTEGER NOT NULL, no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL,
                retain_handling INTEGER NOT NULL, subscription_id INTEGER NOT NULL, PRIMARY KEY (client_id, filter));
            CREATE TABLE IF NOT EXISTS session_messages (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, topic BLOB NOT NULL,
                properties BLOB NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, publisher TEXT,
                username TEXT, timestamp INTEGER NOT NULL, expires_at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS session_messages_client ON session_messages (client_id, id);
            INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
            """);
        string version = Scalar(connection, "SELECT value FROM meta WHERE key = 'schema_version';") as string ?? "0";
        if (version != SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new StorageException(path, "schema version " + version + " is not " + SchemaVersion + " (written by another version of the broker)");
        }
    }

    /// <summary>Message ids continue after the highest stored one; starts the writer, which owns the connection from now on.</summary>
    private void Start()
    {
        object? maxId = Scalar(_connection, "SELECT MAX(id) FROM session_messages;");
        long max = maxId is long m ? m : 0;
        lock (_queueLock)
        {
            _sequence = Math.Max(_sequence, max);
            _durable = _sequence;
        }

        _commands = new Commands(_connection);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "broker-store-writer" };
        _writer.Start();
    }

    /// <summary>Queues an operation; returns its sequence.</summary>
    private long Enqueue(StoreOperation operation)
    {
        lock (_queueLock)
        {
            long sequence = ++_sequence;
            operation.Sequence = sequence;
            _queue.Add(operation);
            if (_queue.Count == 1)
            {
                Monitor.PulseAll(_queueLock);
            }

            return sequence;
        }
    }

    public void WhenDurable(long sequence, IDurabilityCallback callback)
    {
        lock (_queueLock)
        {
            if (sequence > _durable)
            {
                _waiters.Add((sequence, callback));
                return;
            }
        }

        callback.OnDurable(Volatile.Read(ref _durable));
    }

    /// <summary>Completes once <paramref name="sequence"/> is durable; faults if the store failed.</summary>
    public Task WaitAsync(long sequence)
    {
        Exception? fault = Volatile.Read(ref _fault);
        if (fault is not null)
        {
            return Task.FromException(new StorageException(Path, fault.Message, fault));
        }

        var waiter = new TaskWaiter();
        WhenDurable(sequence, waiter);
        return waiter.Task;
    }

    /// <summary>Blocks until <paramref name="sequence"/> is durable (API writes raised from synchronous events).</summary>
    public void Wait(long sequence) => WaitAsync(sequence).GetAwaiter().GetResult();

    /// <summary>Completes once everything queued so far is durable.</summary>
    public Task FlushAsync()
    {
        long sequence;
        lock (_queueLock)
        {
            sequence = _sequence;
        }

        return WaitAsync(sequence);
    }

    private void WriterLoop()
    {
        while (true)
        {
            List<StoreOperation> batch;
            lock (_queueLock)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_queueLock);
                }

                if (_queue.Count == 0)
                {
                    return;
                }

                batch = _queue;
                _queue = _spare;
            }

            long last = batch[^1].Sequence;
            try
            {
                if (_fault is null)
                {
                    Commit(batch);
                }
            }
            catch (Exception ex) when (ex is SqliteException or IOException or InvalidOperationException)
            {
                StoreLog.CommitFailed(_logger, Path, ex.Message);
                Volatile.Write(ref _fault, ex);
            }

            batch.Clear();
            List<(long, IDurabilityCallback)>? due = null;
            lock (_queueLock)
            {
                _spare = batch;
                if (_fault is null)
                {
                    Volatile.Write(ref _durable, last);
                }

                for (int i = _waiters.Count - 1; i >= 0; i--)
                {
                    (long sequence, IDurabilityCallback callback) = _waiters[i];
                    if (sequence <= last || (_fault is not null && callback is TaskWaiter))
                    {
                        (due ??= []).Add((sequence, callback));
                        _waiters.RemoveAt(i);
                    }
                }
            }

            if (due is not null)
            {
                for (int i = due.Count - 1; i >= 0; i--)
                {
                    (_, IDurabilityCallback callback) = due[i];
                    if (_fault is not null && callback is TaskWaiter failed)
                    {
                        failed.Fail(new StorageException(Path, _fault.Message, _fault));
                        continue;
                    }

                    try
                    {
                        callback.OnDurable(last);
                    }
                    catch (Exception ex)
                    {
                        // A callback's bug must not stop every later commit.
                        StoreLog.CallbackFailed(_logger, ex);
                    }
                }
            }
        }
    }

    private void Commit(List<StoreOperation> batch)
    {
        // A message queued and acknowledged within one batch (a persistent session that is online and keeps up) needs
        // neither its insert nor its delete: neither reaches the file. Its PUBACK still waits for this commit.
        HashSet<long> removed = _removedInBatch;
        removed.Clear();
        foreach (StoreOperation operation in batch)
        {
            if (operation is MessageRemoveOperation remove)
            {
                removed.Add(remove.Id);
            }
        }

        HashSet<long> cancelled = _cancelledInBatch;
        cancelled.Clear();
        Commands commands = _commands!;
        using SqliteTransaction transaction = _connection.BeginTransaction();
        commands.SetTransaction(transaction);
        foreach (StoreOperation operation in batch)
        {
            if (removed.Count > 0)
            {
                if (operation is MessageQueueOperation && removed.Contains(operation.Sequence))
                {
                    cancelled.Add(operation.Sequence);
                    continue;
                }

                if (operation is MessageRemoveOperation remove && cancelled.Contains(remove.Id))
                {
                    continue;
                }
            }

            operation.Execute(commands);
        }

        transaction.Commit();
        CommittedWrites += batch.Count;
        Commits++;
    }

    /// <summary>Writes what is queued, stops the writer and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        Thread? writer = _writer;
        lock (_queueLock)
        {
            _stopping = true;
            Monitor.PulseAll(_queueLock);
        }

        if (writer is not null)
        {
            await Task.Run(writer.Join).ConfigureAwait(false);
        }

        CloseConnection();
    }

    public void Dispose()
    {
        lock (_queueLock)
        {
            _stopping = true;
            Monitor.PulseAll(_queueLock);
        }

        _writer?.Join();
        CloseConnection();
    }

    private void CloseConnection()
    {
        lock (_readLock)
        {
            _commands?.Dispose();
            _commands = null;
            _readConnection?.Dispose();
            _readConnection = null;
            _connection.Dispose();
        }
    }

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    // ---- IBrokerPersistence ----

    public long RetainedSet(Message message, long expiresAtUnixMilliseconds)
        => Enqueue(new RetainedSetOperation(
            message.Topic, message.Properties.ToArray(), message.Payload.ToArray(), (byte)message.QoS,
            message.PublisherClientId, message.PublisherUserName, message.Timestamp, expiresAtUnixMilliseconds));

    public long RetainedRemoved(string topic) => Enqueue(new RetainedRemoveOperation(topic));

    public long SessionSaved(PersistedSession session) => Enqueue(new SessionSaveOperation(session));

    public long SessionDiscarded(string clientId) => Enqueue(new SessionDiscardOperation(clientId));

    public long MessageQueued(string clientId, Message message, QualityOfService qos, bool retain, long expiresAtUnixMilliseconds)
        => Enqueue(new MessageQueueOperation(
            clientId, message.TopicBytes.ToArray(), message.Properties.ToArray(), message.Payload.ToArray(), (byte)qos, retain,
            message.PublisherClientId, message.PublisherUserName, message.Timestamp, expiresAtUnixMilliseconds));

    public void MessageRemoved(string clientId, long messageId) => Enqueue(new MessageRemoveOperation(messageId));

    // ---- Whole-table state written by the API: synchronous, durable on return ----

    /// <summary>Replaces the users, ACL rules and bans; returns once durable.</summary>
    public void ReplaceSecurity(IReadOnlyList<StoredUser> users, IReadOnlyList<AclRule> rules, IReadOnlyList<BanEntry> bans)
        => Wait(Enqueue(new SecurityReplaceOperation(users, rules, bans)));

    /// <summary>Replaces the apps; returns once durable.</summary>
    public void ReplaceApps(IReadOnlyList<Broker.Http.Auth.ApiApp> apps) => Wait(Enqueue(new AppsReplaceOperation(apps)));

    /// <summary>Stores one document of <paramref name="kind"/> (a rule, a resource...); completes once durable.</summary>
    public Task SaveDocumentAsync(string kind, string id, byte[] json)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(json);
        return WaitAsync(Enqueue(new DocumentSaveOperation(kind, id, json)));
    }

    /// <summary>Deletes one document; completes once durable.</summary>
    public Task DeleteDocumentAsync(string kind, string id) => WaitAsync(Enqueue(new DocumentDeleteOperation(kind, id)));

    /// <summary>Every document of <paramref name="kind"/>, by id. Sees every write whose task has completed.</summary>
    public IReadOnlyList<(string Id, byte[] Json)> LoadDocuments(string kind)
    {
        var result = new List<(string, byte[])>();
        Read("SELECT id, json FROM documents WHERE kind = $kind ORDER BY id;", command => command.Parameters.AddWithValue("$kind", kind),
            reader => result.Add((reader.GetString(0), (byte[])reader.GetValue(1))));
        return result;
    }

    /// <summary>Runs a query on the store's connection; the writer holds it only inside commits, so reads are serialized with them.</summary>
    private void Read(string sql, Action<SqliteCommand>? bind, Action<SqliteDataReader> row)
    {
        lock (_readLock)
        {
            // The writer thread owns the first connection; a second, read-only one keeps reads off its transactions.
            SqliteConnection connection = ReadConnection();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            bind?.Invoke(command);
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                row(reader);
            }
        }
    }

    private SqliteConnection? _readConnection;

    private SqliteConnection ReadConnection()
    {
        if (_readConnection is null)
        {
            _readConnection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = Path,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
            }.ToString());
            _readConnection.Open();
        }

        return _readConnection;
    }

    // ---- Restore (before Start) ----

    public IReadOnlyList<Broker.Http.Auth.ApiApp> LoadApps()
    {
        var apps = new List<Broker.Http.Auth.ApiApp>();
        Read("SELECT app_id, name, description, status, expired, secret_hash FROM apps ORDER BY app_id;", null, r => apps.Add(new Broker.Http.Auth.ApiApp
        {
            AppId = r.GetString(0),
            Name = r.GetString(1),
            Description = r.GetString(2),
            Status = r.GetInt64(3) != 0,
            Expired = r.IsDBNull(4) ? null : r.GetInt64(4),
            SecretHash = r.GetString(5),
        }));
        return apps;
    }

    public IReadOnlyList<StoredUser> LoadUsers()
    {
        var users = new List<StoredUser>();
        Read("SELECT kind, login, password_hash, algorithm, is_superuser, created_at FROM users;", null, r => users.Add(new StoredUser(
            Enum.Parse<UserKind>(r.GetString(0)), r.GetString(1), (byte[])r.GetValue(2), Enum.Parse<PasswordHashAlgorithm>(r.GetString(3)),
            r.GetInt64(4) != 0, r.GetInt64(5))));
        return users;
    }

    /// <summary>ACL rules oldest first (the order <c>Restore</c> expects).</summary>
    public IReadOnlyList<AclRule> LoadAcl()
    {
        var rules = new List<AclRule>();
        Read("SELECT target, who, topic, action, access, created_at FROM acl ORDER BY position;", null, r => rules.Add(new AclRule(
            Enum.Parse<AclTarget>(r.GetString(0)), r.GetString(1), r.GetString(2), Enum.Parse<AclAction>(r.GetString(3)),
            Enum.Parse<AclAccess>(r.GetString(4)), r.GetInt64(5))));
        return rules;
    }

    public IReadOnlyList<BanEntry> LoadBans()
    {
        var bans = new List<BanEntry>();
        Read("SELECT as_kind, who, reason, by_who, at, until, description FROM banned;", null, r => bans.Add(new BanEntry(
            Enum.Parse<BanKind>(r.GetString(0)), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5),
            r.IsDBNull(6) ? null : r.GetString(6))));
        return bans;
    }

    /// <summary>Whether the security tables hold anything (a legacy <c>security.json</c> is imported only into empty ones).</summary>
    public bool HasSecurity() => Count("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM acl) + (SELECT COUNT(*) FROM banned);") > 0;

    public bool HasApps() => Count("SELECT COUNT(*) FROM apps;") > 0;

    private long Count(string sql)
    {
        long count = 0;
        Read(sql, null, r => count = r.GetInt64(0));
        return count;
    }

    /// <summary>Retained messages with their expiry in Unix milliseconds (0: never).</summary>
    public IReadOnlyList<(Message Message, long ExpiresAt)> LoadRetained()
    {
        var messages = new List<(Message, long)>();
        Read("SELECT topic, properties, payload, qos, publisher, username, timestamp, expires_at FROM retained;", null, r =>
        {
            byte[] topic = Encoding.UTF8.GetBytes(r.GetString(0));
            var message = new Message(topic, (byte[])r.GetValue(2), (QualityOfService)r.GetInt64(3), retain: true, (byte[])r.GetValue(1))
            {
                PublisherClientId = r.IsDBNull(4) ? null : r.GetString(4),
                PublisherUserName = r.IsDBNull(5) ? null : r.GetString(5),
                Timestamp = r.GetInt64(6),
            };
            messages.Add((message, r.GetInt64(7)));
        });
        return messages;
    }

    /// <summary>Persistent sessions with their subscriptions and queued messages (oldest first).</summary>
    public IReadOnlyList<(PersistedSession Session, List<PersistedMessage> Messages)> LoadSessions()
    {
        var subscriptions = new Dictionary<string, List<SubscriptionEntry>>(StringComparer.Ordinal);
        Read("SELECT client_id, filter, topic_filter, share_group, qos, no_local, retain_as_published, retain_handling, subscription_id FROM subscriptions;", null, r =>
        {
            string clientId = r.GetString(0);
            if (!subscriptions.TryGetValue(clientId, out List<SubscriptionEntry>? list))
            {
                subscriptions[clientId] = list = [];
            }

            list.Add(new SubscriptionEntry(r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), new SubscriptionOptions(
                (QualityOfService)r.GetInt64(4), r.GetInt64(5) != 0, r.GetInt64(6) != 0, (RetainHandling)r.GetInt64(7), (int)r.GetInt64(8))));
        });

        var messages = new Dictionary<string, List<PersistedMessage>>(StringComparer.Ordinal);
        Read("SELECT id, client_id, topic, properties, payload, qos, retain, publisher, username, timestamp, expires_at FROM session_messages ORDER BY id;", null, r =>
        {
            string clientId = r.GetString(1);
            if (!messages.TryGetValue(clientId, out List<PersistedMessage>? list))
            {
                messages[clientId] = list = [];
            }

            var qos = (QualityOfService)r.GetInt64(5);
            bool retain = r.GetInt64(6) != 0;
            var message = new Message((byte[])r.GetValue(2), (byte[])r.GetValue(4), qos, retain, (byte[])r.GetValue(3))
            {
                PublisherClientId = r.IsDBNull(7) ? null : r.GetString(7),
                PublisherUserName = r.IsDBNull(8) ? null : r.GetString(8),
                Timestamp = r.GetInt64(9),
            };
            list.Add(new PersistedMessage(r.GetInt64(0), message, qos, retain, r.GetInt64(10)));
        });

        var sessions = new List<(PersistedSession, List<PersistedMessage>)>();
        Read("SELECT client_id, created_at, expiry_interval, expires_at FROM sessions;", null, r =>
        {
            string clientId = r.GetString(0);
            sessions.Add((new PersistedSession(
                clientId, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), (uint)r.GetInt64(2), r.GetInt64(3),
                subscriptions.GetValueOrDefault(clientId) ?? []), messages.GetValueOrDefault(clientId) ?? []));
        });

        foreach (string clientId in messages.Keys)
        {
            if (!subscriptions.ContainsKey(clientId) && !sessions.Exists(s => s.Item1.ClientId == clientId))
            {
                // Left by a session discarded while a message for it was being queued: nobody will read them.
                SessionDiscarded(clientId);
            }
        }

        return sessions;
    }

    private sealed class TaskWaiter : IDurabilityCallback
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => _completion.Task;

        public void OnDurable(long durableSequence) => _completion.TrySetResult();

        public void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}

/// <summary>The database could not be opened or used; <see cref="Exception.Message"/> names the file and the reason.</summary>
internal sealed class StorageException : Exception
{
    public StorageException(string path, string reason, Exception? inner = null)
        : base(path + ": " + reason, inner)
    {
        FilePath = path;
        Reason = reason;
    }

    public string FilePath { get; }

    public string Reason { get; }
}

/// <summary>Log messages of the store (event ids 23xx).</summary>
internal static partial class StoreLog
{
    [LoggerMessage(2300, LogLevel.Critical, "Cannot use the database {FilePath}: {Reason}")]
    public static partial void OpenFailed(ILogger logger, string filePath, string reason);

    [LoggerMessage(2301, LogLevel.Critical, "Writing to the database {FilePath} failed; nothing written since is acknowledged: {Reason}")]
    public static partial void CommitFailed(ILogger logger, string filePath, string reason);

    [LoggerMessage(2302, LogLevel.Error, "A durability callback failed.")]
    public static partial void CallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(2303, LogLevel.Information, "Imported {LegacyFile} into the database; renamed it to {RenamedTo}.")]
    public static partial void Imported(ILogger logger, string legacyFile, string renamedTo);

    [LoggerMessage(2304, LogLevel.Information, "Restored from {FilePath}: {Apps} apps, {Users} users, {Rules} ACL rules, {Bans} bans, {Retained} retained messages, {Sessions} persistent sessions with {Messages} queued messages.")]
    public static partial void Restored(ILogger logger, string filePath, int apps, int users, int rules, int bans, int retained, int sessions, int messages);
}
