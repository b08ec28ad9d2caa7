using System.Net.Sockets;
using Broker.Core;
using Broker.Http;
using Broker.Http.Auth;
using Broker.Http.Channel;
using Broker.Http.Hosting;
using Broker.Transport.Connections;
using Broker.Server.Hosting;
using Broker.Server.Storage;
using Broker.Transport.Tcp;
using Broker.Transport.Tls;
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
    private readonly IConnectionListener[] _listeners;
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<IListenerInfo> _listenerInfos = [];
    private int _state;
    private Task? _brokerStopped;

    public BrokerHost(ServerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggerFactory ??= NullLoggerFactory.Instance;
        _loggerFactory = loggerFactory;
        Options = options;
        _logger = loggerFactory.CreateLogger("Broker.Server");
        if (options.Broker.MaximumConnections == 0)
        {
            // The too_many_connections alarm measures against the listener's max_conns unless told otherwise.
            options.Broker.MaximumConnections = options.MqttTcp.MaxConnections;
        }

        Broker = new MqttBroker(options.Broker, loggerFactory, timeProvider);
        MqttListener = new SocketListener(options.MqttTcp, Broker.RunConnectionAsync, loggerFactory);
        var listeners = new List<IConnectionListener> { MqttListener };
        if (options.SslActive)
        {
            SslListener = new StreamListener(options.MqttSsl, options.Tls, null, Broker.RunConnectionAsync, loggerFactory);
            listeners.Add(SslListener);
        }

        if (options.WsEnabled)
        {
            WsListener = new StreamListener(options.MqttWs, null, options.WebSocket, Broker.RunConnectionAsync, loggerFactory);
            listeners.Add(WsListener);
        }

        if (options.WssActive)
        {
            WssListener = new StreamListener(options.MqttWss, options.Tls, options.WebSocket, Broker.RunConnectionAsync, loggerFactory);
            listeners.Add(WssListener);
        }

        _listeners = [.. listeners];
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

        RulesFile = Configuration.RulesFile.Open(DataDirectory, Store, Broker, _logger);
        if (options.ApiEnabled)
        {
            foreach (IConnectionListener listener in _listeners)
            {
                _listenerInfos.Add(new SocketListenerInfo(listener));
            }

            ManagementContext = new ManagementContext(Broker, Apps!, () => _listenerInfos);
            Api = new ManagementApi(ManagementContext, loggerFactory);
            if (options.ApiHttp)
            {
                ApiHost = new HttpListenerHost(Api, options.Api, loggerFactory);
                _listenerInfos.Add(ApiHost);
            }

            if (options.ChannelEnabled)
            {
                Channel = CreateChannel(options, Api, loggerFactory, timeProvider);
                Api.Channel = Channel;
            }
        }
    }

    /// <summary>The cloud-edge channel's file of earlier versions (route-created users, clusters, edge services), imported once into the database.</summary>
    public const string ChannelFileName = "channel.json";

    /// <summary>The cloud-edge channel, or null when it is off.</summary>
    public CloudEdgeChannel? Channel { get; }

    /// <summary>The management API's HTTPS host, once started with <c>--api-https true</c>; null otherwise.</summary>
    public KestrelHost? ApiHttpsHost { get; private set; }

    /// <summary>Rules and resources, kept in <c>rules.json</c> in the data directory.</summary>
    internal Configuration.RulesFile RulesFile { get; }

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

    /// <summary>The MQTT/SSL listener (8883), or null when it is off (no certificate configured).</summary>
    public StreamListener? SslListener { get; }

    /// <summary>The MQTT/WebSocket listener (8083), or null when it is off.</summary>
    public StreamListener? WsListener { get; }

    /// <summary>The MQTT/WSS listener (8084), or null when it is off (no certificate configured).</summary>
    public StreamListener? WssListener { get; }

    /// <summary>Every MQTT listener (TCP, then SSL, WS, WSS when on), for the management API's listener routes.</summary>
    public IReadOnlyList<IConnectionListener> Listeners => _listeners;

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirectory { get; }

    /// <summary>The management API's apps, or null when the API is off.</summary>
    public AppStore? Apps { get; }

    /// <summary>The services behind the management API, or null when it is off.</summary>
    public ManagementContext? ManagementContext { get; }

    /// <summary>The management API, or null when it is off.</summary>
    public ManagementApi? Api { get; }

    /// <summary>The management API's HTTP host (8081 by default), or null when the API or its plain HTTP host is off.</summary>
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

        if (Options.JitWarmup)
        {
            (TimeSpan elapsed, string? failure) = await JitWarmup.RunAsync(Options.MqttTcp).ConfigureAwait(false);
            if (failure is null)
            {
                ServerLog.WarmupDone(_logger, elapsed.TotalMilliseconds);
            }
            else
            {
                ServerLog.WarmupFailed(_logger, elapsed.TotalMilliseconds, failure);
            }
        }

        foreach (IConnectionListener listener in _listeners)
        {
            try
            {
                await listener.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or TlsCertificateException)
            {
                ServerLog.ListenerFailed(_logger, listener.Name, ex.Message);
                foreach (IConnectionListener started in _listeners)
                {
                    await started.DisposeAsync().ConfigureAwait(false);
                }

                throw;
            }
        }

        if (Options.EventLoopSliceMicroseconds > 0)
        {
            // After the listeners: the runtime has started its event-loop threads by now (the JIT warm-up, or the
            // first accept, is their first socket operation).
            if (EventLoopSlice.Apply(TimeSpan.FromMicroseconds(Options.EventLoopSliceMicroseconds)) is int count)
            {
                ServerLog.EventLoopSliceSet(_logger, count, Options.EventLoopSliceMicroseconds);
            }
            else
            {
                ServerLog.EventLoopSliceUnsupported(_logger);
            }
        }

        if (Api is not null)
        {
            if (Options.ApiDefaultApp && Options.ApiDefaultAppId.Length > 0 && Options.ApiDefaultAppSecret.Length > 0)
            {
                Apps!.EnsureDefault(Options.ApiDefaultAppId, Options.ApiDefaultAppSecret);
            }

            try
            {
                if (ApiHost is not null)
                {
                    await ApiHost.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                if (Options.ApiHttps.Enabled)
                {
                    ApiHttpsHost = new KestrelHost(Api, Options.ApiHttps, Options.Api, LoadHttpsCertificate(), _loggerFactory);
                    await ApiHttpsHost.StartAsync(cancellationToken).ConfigureAwait(false);
                    _listenerInfos.Add(ApiHttpsHost);
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                if (ex is SocketException)
                {
                    ServerLog.ListenerFailed(_logger, ApiHttpsHost is null ? "http:management:" + Options.Api.Port : "https:management:" + Options.ApiHttps.Port, ex.Message);
                }

                if (ApiHost is not null)
                {
                    await ApiHost.DisposeAsync().ConfigureAwait(false);
                }

                if (ApiHttpsHost is not null)
                {
                    await ApiHttpsHost.DisposeAsync().ConfigureAwait(false);
                    ApiHttpsHost = null;
                }

                foreach (IConnectionListener started in _listeners)
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

        if (ApiHttpsHost is not null)
        {
            await ApiHttpsHost.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (IConnectionListener listener in _listeners)
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

        foreach (IConnectionListener listener in _listeners)
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
        foreach (IConnectionListener listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        if (ApiHttpsHost is not null)
        {
            await ApiHttpsHost.DisposeAsync().ConfigureAwait(false);
        }

        Channel?.Dispose();

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

    /// <summary>The certificate named by the options; a failure is logged as one line and rethrown as <see cref="IOException"/>.</summary>
    private System.Security.Cryptography.X509Certificates.X509Certificate2 LoadHttpsCertificate()
    {
        try
        {
            return CertificateLoader.Load(Options.ApiHttps.CertificateFile, Options.ApiHttps.KeyFile, Options.ApiHttps.Password, "api-https");
        }
        catch (IOException ex)
        {
            ServerLog.HttpsCertificateFailed(_logger, ex.Message);
            throw;
        }
    }

    private CloudEdgeChannel CreateChannel(ServerOptions options, ManagementApi api, ILoggerFactory loggerFactory, TimeProvider? timeProvider)
    {
        // Route-created entries live in the database (one document); a channel.json of earlier versions is imported once.
        var registry = new ChannelRegistry();
        foreach ((string id, byte[] json) in Store.LoadDocuments(ChannelDocumentKind))
        {
            if (id == ChannelDocumentId && ChannelRegistry.ReadFile(json) is { } stored)
            {
                registry.Import(stored);
            }
        }

        string legacy = Path.Combine(DataDirectory, ChannelFileName);
        if (File.Exists(legacy) && ChannelRegistry.ReadFile(File.ReadAllBytes(legacy)) is { } imported)
        {
            registry.Import(imported);
            SaveChannel(registry);
            File.Move(legacy, legacy + ".imported", overwrite: true);
        }

        registry.Changed += () => SaveChannel(registry);
        foreach ((string username, string password) in options.ChannelUsers)
        {
            registry.AddUser(username, password, fromConfig: true);
        }

        foreach (ChannelTarget cluster in options.ChannelClusters)
        {
            registry.AddTarget(ChannelTargetKind.Cluster, cluster);
        }

        foreach (ChannelTarget service in options.ChannelEdgeServices)
        {
            registry.AddTarget(ChannelTargetKind.EdgeService, service);
        }

        return new CloudEdgeChannel(api, registry, options.Channel, loggerFactory, timeProvider);
    }

    private const string ChannelDocumentKind = "channel";
    private const string ChannelDocumentId = "registry";

    /// <summary>Durable before the API answers code 0.</summary>
    private void SaveChannel(ChannelRegistry registry)
        => Store.SaveDocumentAsync(ChannelDocumentKind, ChannelDocumentId, ChannelRegistry.WriteFile(registry.Export())).GetAwaiter().GetResult();

    private string DescribeListeners()
    {
        var names = new List<string>(_listeners.Length + 1);
        foreach (IConnectionListener listener in _listeners)
        {
            names.Add(listener.Name);
        }

        if (ApiHost is not null)
        {
            names.Add(((IListenerInfo)ApiHost).Name);
        }

        if (ApiHttpsHost is not null)
        {
            names.Add(((IListenerInfo)ApiHttpsHost).Name);
        }

        return string.Join(", ", names);
    }
}
