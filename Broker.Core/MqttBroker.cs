using System.IO.Pipelines;
using Broker.Core.Configuration;
using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Rules;
using Broker.Core.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Core;

/// <summary>
/// The broker. It owns no sockets: a transport hands each connection over as an <see cref="IDuplexPipe"/>
/// through <see cref="RunConnectionAsync"/>, which returns when the connection ends.
/// </summary>
public sealed partial class MqttBroker : IAsyncDisposable
{
    // The value is unused: a connection's own task is RunConnectionAsync's result, and shutdown waits on _drained.
    private readonly ConnectionList _connections = new();
    private readonly Router _router;
    private readonly DelayedPublisher _delayed;
    private readonly SysTopics _sys;
    private readonly ITimer _housekeeping;
    private readonly CancellationWatch _cancellationWatch;
    private TaskCompletionSource? _drained;
    private long _clientIdSequence;
    private long _publisherPauses;
    private int _disposed;

    public MqttBroker(BrokerOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new BrokerOptions();
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger("Broker.Core");
        TimeProvider = timeProvider ?? TimeProvider.System;
        StartedAt = TimeProvider.GetUtcNow();
        StartTimestamp = TimeProvider.GetTimestamp();
        InitializeSecurity();
        Retained = new RetainedStore(this);
        _router = new Router(this);
        _delayed = new DelayedPublisher(this);
        _sys = new SysTopics(this);
        Rules = new RuleEngine(this, Options.RuleActionQueueLength);
        _cancellationWatch = new CancellationWatch(static (state, token) => ((MqttBroker)state!).OnConnectionTokenCancelled(token), this);
        _housekeeping = TimeProvider.CreateTimer(static state => ((MqttBroker)state!).Housekeeping(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public BrokerOptions Options { get; }

    public ILoggerFactory LoggerFactory { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>Every counter of EMQX's metrics table.</summary>
    public BrokerCounters Counters { get; } = new();

    /// <summary>Gauges with their high-water marks (EMQX's stats).</summary>
    public BrokerStats Stats { get; } = new();

    public SessionTable Sessions { get; } = new();

    /// <summary>Connections ended, by reason (malformed packet, protocol error, keep alive timeout...).</summary>
    public DisconnectCounts Disconnects { get; } = new();

    public RetainedStore Retained { get; }

    /// <summary>The rule engine: SQL rules over messages and events, their actions and resources.</summary>
    public RuleEngine Rules { get; }

    /// <summary>Pooled messages for client PUBLISH packets (ownership rules on <see cref="Message"/>).</summary>
    internal MessagePool MessagePool { get; } = new();

    public DateTimeOffset StartedAt { get; }

    /// <summary>The broker's version, as $SYS and the management API report it.</summary>
    public static string Version => typeof(MqttBroker).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    internal long StartTimestamp { get; }

    internal ILogger Logger { get; }

    internal Router Router => _router;

    /// <summary>
    /// Times a publisher's socket reads were paused because a subscriber it published to had too much waiting
    /// (back-pressure instead of dropping). EMQX has no such counter; it is kept beside its metrics.
    /// </summary>
    public long PublisherPauses => Interlocked.Read(ref _publisherPauses);

    /// <summary>Connections being served, including those that have not sent CONNECT yet.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>Delayed publishes waiting.</summary>
    public int DelayedCount => _delayed.Count;

    /// <summary>Serves one MQTT connection until the peer or the broker closes it. Never throws for bad input.</summary>
    /// <remarks>
    /// Cancelling <paramref name="cancellationToken"/> closes the connection (no DISCONNECT, as for a transport that
    /// goes away). The broker registers once per distinct token, not once per connection: a listener passes the same
    /// token to all of its connections, and an idle connection should hold nothing but its pending read.
    /// </remarks>
    public Task RunConnectionAsync(IDuplexPipe transport, ConnectionInfo info, CancellationToken cancellationToken = default)
    {
        if (transport is null || info is null)
        {
            return Task.FromException(new ArgumentNullException(transport is null ? nameof(transport) : nameof(info)));
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return Task.FromException(new ObjectDisposedException(nameof(MqttBroker)));
        }

        var connection = new MqttConnection(this, transport, info, cancellationToken);
        _connections.Add(connection);
        if (cancellationToken.CanBeCanceled)
        {
            _cancellationWatch.Add(cancellationToken);
            if (cancellationToken.IsCancellationRequested)
            {
                connection.RequestClose(DisconnectReason.ServerShutdown, null);
            }
        }

        return connection.RunAsync();
    }

    /// <summary>The last step of <see cref="MqttConnection.RunAsync"/>, whatever happened before.</summary>
    internal void OnConnectionEnded(MqttConnection connection)
    {
        int remaining = _connections.Remove(connection);
        Disconnects.Increment(connection.CloseReason);
        if (connection.CancellationToken.CanBeCanceled)
        {
            _cancellationWatch.Remove(connection.CancellationToken);
        }

        if (remaining == 0 && Volatile.Read(ref _drained) is { } drained)
        {
            drained.TrySetResult();
        }
    }

    /// <summary>A token passed to <see cref="RunConnectionAsync"/> was cancelled: close the connections it was given to.</summary>
    private void OnConnectionTokenCancelled(CancellationToken token)
    {
        MqttConnection[] connections = _connections.Rent(out int count);
        try
        {
            foreach (MqttConnection connection in connections.AsSpan(0, count))
            {
                if (connection.CancellationToken == token)
                {
                    connection.RequestClose(DisconnectReason.ServerShutdown, null);
                }
            }
        }
        finally
        {
            ConnectionList.Return(connections);
        }
    }

    /// <summary>Publishes a message as the broker (management API, embedding code). Returns the sessions reached.</summary>
    public int Publish(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Counters.Increment(CounterId.MessagesPublish);
        return PublishInternal(message);
    }

    /// <summary>
    /// EMQX's kick: closes the client's connection (v5: DISCONNECT 0x98) and discards its session, connected or not;
    /// the will is published as for any session end. Returns false if there is no session with this client id.
    /// </summary>
    public bool Kick(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (Sessions.Find(clientId) is not { } session)
        {
            return false;
        }

        if (session.Connection is { } connection)
        {
            // The listener counts this close as EMQX's "kicked", not as a normal close.
            connection.Info.ShutdownReason = KickedShutdownReason;

            // The close ends the session (OnConnectionClosed), whatever its expiry interval.
            connection.RequestClose(DisconnectReason.Kicked, ReasonCode.AdministrativeAction);
            return true;
        }

        long now = TimeProvider.GetTimestamp();
        lock (Sessions.GetLock(clientId))
        {
            if (session.Connection is null && !session.IsTerminated)
            {
                session.ExpiresAt = now;
            }
        }

        ExpireIfDue(session, now);
        return true;
    }

    /// <summary>The <see cref="ConnectionInfo.ShutdownReason"/> of a kicked connection, as EMQX's listeners count it.</summary>
    public const string KickedShutdownReason = "kicked";

    /// <summary>Closes every connection (v5 clients get DISCONNECT 0x8B) and stops the timers.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _housekeeping.DisposeAsync().ConfigureAwait(false);
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drained, drained);
        MqttConnection[] connections = _connections.Rent(out int count);
        try
        {
            foreach (MqttConnection connection in connections.AsSpan(0, count))
            {
                connection.RequestClose(DisconnectReason.ServerShutdown, ReasonCode.ServerShuttingDown);
            }
        }
        finally
        {
            ConnectionList.Return(connections);
        }

        if (_connections.Count == 0)
        {
            drained.TrySetResult();
        }

        try
        {
            await drained.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Each connection bounds its own close (the writer gets 5 s); give up waiting for the stragglers.
        }

        _cancellationWatch.Dispose();
        await Rules.DisposeAsync().ConfigureAwait(false);
    }

    internal void CountPublisherPause() => Interlocked.Increment(ref _publisherPauses);

    internal string NewClientId()
    {
        long n = Interlocked.Increment(ref _clientIdSequence);
        return $"auto-{StartTimestamp:x}-{n:x}";
    }
}
