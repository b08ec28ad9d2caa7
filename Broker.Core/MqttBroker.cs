using System.Collections.Concurrent;
using System.IO.Pipelines;
using Broker.Core.Configuration;
using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
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
    private readonly ConcurrentDictionary<MqttConnection, Task> _connections = new();
    private readonly Router _router;
    private readonly DelayedPublisher _delayed;
    private readonly SysTopics _sys;
    private readonly ITimer _housekeeping;
    private readonly CancellationTokenSource _shutdown = new();
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
    public async Task RunConnectionAsync(IDuplexPipe transport, ConnectionInfo info, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(info);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        var connection = new MqttConnection(this, transport, info);
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connections[connection] = completion.Task;
        try
        {
            await connection.RunAsync(linked.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The last line of defence: one connection's bug must not take the process down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            BrokerLog.UnexpectedError(Logger, connection.ClientId, ex);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            Disconnects.Increment(connection.CloseReason);
            completion.TrySetResult();
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

    /// <summary>Closes every connection (v5 clients get DISCONNECT 0x8B) and stops the timers.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _housekeeping.DisposeAsync().ConfigureAwait(false);
        foreach (MqttConnection connection in _connections.Keys)
        {
            connection.RequestClose(DisconnectReason.ServerShutdown, ReasonCode.ServerShuttingDown);
        }

        Task all = Task.WhenAll(_connections.Values);
        try
        {
            await all.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
        }

        _shutdown.Dispose();
    }

    internal void CountPublisherPause() => Interlocked.Increment(ref _publisherPauses);

    internal string NewClientId()
    {
        long n = Interlocked.Increment(ref _clientIdSequence);
        return $"auto-{StartTimestamp:x}-{n:x}";
    }
}
