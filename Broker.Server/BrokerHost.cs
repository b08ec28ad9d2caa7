using System.Net.Sockets;
using Broker.Core;
using Broker.Http;
using Broker.Http.Auth;
using Broker.Http.Hosting;
using Broker.Server.Storage;
using Broker.Transport.Tcp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server;

/// <summary>
/// The standalone broker put together: one <see cref="MqttBroker"/> and its listeners, started and stopped in the
/// right order. Tests start it in-process on port 0 and read the bound port from <see cref="MqttListener"/>.
/// </summary>
internal sealed class BrokerHost : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly SocketListener[] _listeners;
    private int _state;
    private Task? _brokerStopped;

    public BrokerHost(ServerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggerFactory ??= NullLoggerFactory.Instance;
        Options = options;
        _logger = loggerFactory.CreateLogger("Broker.Server");
        if (options.Broker.MaximumConnections == 0)
        {
            // The too_many_connections alarm measures against the listener's max_conns unless told otherwise.
            options.Broker.MaximumConnections = options.MqttTcp.MaxConnections;
        }

        Broker = new MqttBroker(options.Broker, loggerFactory, timeProvider);
        MqttListener = new SocketListener(options.MqttTcp, Broker.RunConnectionAsync, loggerFactory);
        _listeners = [MqttListener];
        DataDirectory = Path.GetFullPath(options.DataDirectory);
        // Everything stored is back before a listener accepts; a database that cannot be used stops the start here.
        Store = SqliteStore.Open(DataDirectory, _logger);
        try
        {
            Security = SecurityTables.Open(Store, DataDirectory, options, Broker, _logger);
            if (options.ApiEnabled)
            {
                Apps = OpenApps(Store, DataDirectory, timeProvider, _logger);
            }

            Restore();
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidCastException or FormatException or ArgumentException or System.Text.Json.JsonException or IOException)
        {
            Store.Dispose();
            throw new StorageException(Store.Path, "cannot restore: " + ex.Message, ex);
        }

        if (options.PersistMessages)
        {
            Broker.Persistence = Store;
        }
        if (options.ApiEnabled)
        {
            var listenerInfos = new List<IListenerInfo>();
            foreach (SocketListener listener in _listeners)
            {
                listenerInfos.Add(new SocketListenerInfo(listener));
            }

            ManagementContext = new ManagementContext(Broker, Apps!, () => listenerInfos);
            Api = new ManagementApi(ManagementContext, loggerFactory);
            ApiHost = new HttpListenerHost(Api, options.Api, loggerFactory);
            listenerInfos.Add(ApiHost);
        }
    }

    /// <summary>Users, ACL rules and bans, kept in the database.</summary>
    internal SecurityTables Security { get; }

    /// <summary>The database in the data directory (<c>broker.db</c>).</summary>
    internal SqliteStore Store { get; }

    /// <summary>The apps file of earlier versions, imported once into the database.</summary>
    public const string AppsFileName = "apps.json";

    public ServerOptions Options { get; }

    public MqttBroker Broker { get; }

    /// <summary>The MQTT/TCP listener (1883 by default).</summary>
    public SocketListener MqttListener { get; }

    /// <summary>Every listener, for the management API's listener routes.</summary>
    public IReadOnlyList<SocketListener> Listeners => _listeners;

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirectory { get; }

    /// <summary>The management API's apps, or null when the API is off.</summary>
    public AppStore? Apps { get; }

    /// <summary>The services behind the management API, or null when it is off.</summary>
    public ManagementContext? ManagementContext { get; }

    /// <summary>The management API, or null when it is off.</summary>
    public ManagementApi? Api { get; }

    /// <summary>The management API's HTTP host (8081 by default), or null when the API is off.</summary>
    public HttpListenerHost? ApiHost { get; }

    /// <summary>
    /// Creates the data directory and starts every listener. On failure (address in use, no permission) the
    /// listeners already started are stopped again, the reason is logged, and the exception is rethrown.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The host starts once.");
        }

        try
        {
            Directory.CreateDirectory(DataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ServerLog.DataDirectoryFailed(_logger, DataDirectory, ex.Message);
            throw;
        }

        foreach (SocketListener listener in _listeners)
        {
            try
            {
                await listener.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                ServerLog.ListenerFailed(_logger, listener.Name, ex.Message);
                foreach (SocketListener started in _listeners)
                {
                    await started.DisposeAsync().ConfigureAwait(false);
                }

                throw;
            }
        }

        if (ApiHost is not null)
        {
            if (Options.ApiDefaultApp && Options.ApiDefaultAppId.Length > 0 && Options.ApiDefaultAppSecret.Length > 0)
            {
                Apps!.EnsureDefault(Options.ApiDefaultAppId, Options.ApiDefaultAppSecret);
            }

            try
            {
                await ApiHost.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                ServerLog.ListenerFailed(_logger, "http:management:" + Options.Api.Port, ex.Message);
                foreach (SocketListener started in _listeners)
                {
                    await started.DisposeAsync().ConfigureAwait(false);
                }

                throw;
            }
        }

        ServerLog.Started(_logger, Options.Broker.NodeName, DescribeListeners(), DataDirectory);
    }

    /// <summary>
    /// Stops accepting, then lets the broker disconnect its clients, until <paramref name="cancellationToken"/> is
    /// cancelled; connections still open then are aborted. Returns when every connection has ended.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        bool graceful = !cancellationToken.IsCancellationRequested;
        if (graceful)
        {
            ServerLog.Stopping(_logger, Options.ShutdownTimeout);
        }

        if (ApiHost is not null)
        {
            await ApiHost.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (SocketListener listener in _listeners)
        {
            await listener.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        // The broker closes every connection (v5 clients get DISCONNECT 0x8B). It will later offer StopAsync(token);
        // until then disposal is the way to ask, bounded here by the token.
        try
        {
            _brokerStopped = Broker.DisposeAsync().AsTask();
            await _brokerStopped.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: the listeners abort what is left below.
        }
        catch (Exception ex)
        {
            ServerLog.BrokerDisposeFailed(_logger, ex);
        }

        foreach (SocketListener listener in _listeners)
        {
            await listener.CloseConnectionsAsync(cancellationToken).ConfigureAwait(false);
        }

        // The sessions' last state (expiry from now) was queued as their connections closed.
        await FlushStoreAsync().ConfigureAwait(false);

        if (graceful && cancellationToken.IsCancellationRequested)
        {
            ServerLog.ShutdownTimedOut(_logger, Options.ShutdownTimeout);
        }

        ServerLog.Stopped(_logger, Options.Broker.NodeName);
    }

    /// <summary>Stops at once: no grace period for clients.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        foreach (SocketListener listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            // Its connections are gone, so a disposal that outlived the grace period finishes now.
            await (_brokerStopped ?? Broker.DisposeAsync().AsTask()).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ServerLog.BrokerDisposeFailed(_logger, ex);
        }

        await Store.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until every write queued so far is on disk (a failed store has logged why already).</summary>
    public async Task FlushStoreAsync()
    {
        try
        {
            await Store.FlushAsync().ConfigureAwait(false);
        }
        catch (StorageException)
        {
            // Logged by the writer when the commit failed.
        }
    }

    private static AppStore OpenApps(SqliteStore store, string dataDirectory, TimeProvider? timeProvider, ILogger logger)
    {
        string legacy = Path.Combine(dataDirectory, AppsFileName);
        var persistence = new StoreAppPersistence(store);
        if (File.Exists(legacy) && !store.HasApps())
        {
            IReadOnlyList<ApiApp> imported = new AppStore(legacy, timeProvider: timeProvider).List();
            persistence.SaveApps(imported);
            File.Move(legacy, legacy + ".imported", overwrite: true);
            StoreLog.Imported(logger, legacy, legacy + ".imported");
        }

        return new AppStore(persistence, store.LoadApps(), timeProvider: timeProvider);
    }

    /// <summary>Retained messages and persistent sessions back into the broker; sessions expired while it was down are dropped.</summary>
    private void Restore()
    {
        long now = Broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        int retained = 0;
        foreach ((Broker.Core.Routing.Message message, long expiresAt) in Store.LoadRetained())
        {
            if (expiresAt != 0 && expiresAt <= now)
            {
                Store.RetainedRemoved(message.Topic);
                continue;
            }

            Broker.RestoreRetained(message, expiresAt);
            retained++;
        }

        int sessions = 0;
        int messages = 0;
        foreach ((Broker.Core.Persistence.PersistedSession session, List<Broker.Core.Persistence.PersistedMessage> queued) in Store.LoadSessions())
        {
            if (session.ExpiresAtUnixMilliseconds != 0 && session.ExpiresAtUnixMilliseconds <= now)
            {
                Store.SessionDiscarded(session.ClientId);
                continue;
            }

            Broker.RestoreSession(session, queued);
            sessions++;
            messages += queued.Count;
        }

        StoreLog.Restored(_logger, Store.Path, Apps?.Count ?? 0, Broker.Users.Count, Broker.Acl.Count, Broker.Banned.Count, retained, sessions, messages);
    }

    private sealed class StoreAppPersistence(SqliteStore store) : IAppPersistence
    {
        public void SaveApps(IReadOnlyList<ApiApp> apps) => store.ReplaceApps(apps);
    }

    private string DescribeListeners()
    {
        var names = new List<string>(_listeners.Length + 1);
        foreach (SocketListener listener in _listeners)
        {
            names.Add(listener.Name);
        }

        if (ApiHost is not null)
        {
            names.Add(((IListenerInfo)ApiHost).Name);
        }

        return string.Join(", ", names);
    }
}
