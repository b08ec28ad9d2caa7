namespace Broker.Http;

/// <summary>
/// What the listener routes report about one listener (EMQX's <c>protocol</c>, <c>listen_on</c>, <c>acceptors</c>,
/// <c>max_conns</c>, <c>current_conns</c>, <c>shutdown_count</c>). The server adapts its transports to this, so
/// Broker.Http needs no reference to Broker.Transport.
/// </summary>
public interface IListenerInfo
{
    /// <summary>The name connections carry in <c>ConnectionInfo.ListenerName</c>, for example <c>mqtt:tcp:0.0.0.0:1883</c>.</summary>
    public string Name { get; }

    /// <summary><c>mqtt:tcp</c>, <c>mqtt:ws</c>, <c>http:management</c>...</summary>
    public string Protocol { get; }

    /// <summary><c>0.0.0.0:1883</c>, or just the port.</summary>
    public string ListenOn { get; }

    public int Acceptors { get; }

    public int MaxConnections { get; }

    public int CurrentConnections { get; }

    /// <summary>Closes by reason; only reasons counted at least once.</summary>
    public IReadOnlyDictionary<string, long> ShutdownCounts { get; }

    /// <summary>Counts a close the transport cannot see itself (the API's kick counts <c>kicked</c>).</summary>
    public void RecordShutdown(string reason);
}
