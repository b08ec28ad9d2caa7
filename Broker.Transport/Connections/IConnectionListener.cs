using System.Net;

namespace Broker.Transport.Connections;

/// <summary>
/// An MQTT listener as its owner drives it and the listener routes report it (EMQX's <c>protocol</c>, <c>listen_on</c>,
/// <c>acceptors</c>, <c>max_conns</c>, <c>current_conns</c>, <c>shutdown_count</c>), whatever the transport underneath:
/// TCP, TLS, WebSocket or WebSocket over TLS.
/// </summary>
public interface IConnectionListener : IAsyncDisposable
{
    /// <summary>The listener's name in EMQX's form, <c>mqtt:ssl:0.0.0.0:8883</c>; also <c>ConnectionInfo.ListenerName</c>.</summary>
    public string Name { get; }

    /// <summary>EMQX's <c>protocol</c>: <c>mqtt:tcp</c>, <c>mqtt:ssl</c>, <c>mqtt:ws:8083</c>, <c>mqtt:wss:8084</c>.</summary>
    public string Protocol { get; }

    /// <summary>EMQX's <c>listen_on</c>, for example <c>0.0.0.0:1883</c>.</summary>
    public string ListenOn { get; }

    /// <summary>The bound address once started (the real port when configured with port 0), the configured one before.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>EMQX's <c>acceptors</c>: concurrent accept loops.</summary>
    public int Acceptors { get; }

    /// <summary>EMQX's <c>max_conns</c>.</summary>
    public int MaxConnections { get; }

    /// <summary>EMQX's <c>current_conns</c>: connections accepted and not yet closed.</summary>
    public int CurrentConnections { get; }

    /// <summary>EMQX's <c>shutdown_count</c>: closes by reason (<see cref="ShutdownReasons"/>).</summary>
    public ShutdownCounter ShutdownCount { get; }

    /// <summary>Whether the listener is accepting connections.</summary>
    public bool IsListening { get; }

    /// <summary>Counts a close the transport cannot see by itself, for example <see cref="ShutdownReasons.Kicked"/>.</summary>
    public void RecordShutdown(string reason);

    /// <summary>Binds, listens and starts accepting.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops accepting; open connections keep running.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops accepting, asks every handler to end, and aborts what is left when <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task CloseConnectionsAsync(CancellationToken cancellationToken = default);
}
