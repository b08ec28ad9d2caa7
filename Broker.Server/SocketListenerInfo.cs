using Broker.Http;
using Broker.Transport.Connections;

namespace Broker.Server;

/// <summary>An MQTT listener (TCP, SSL, WS, WSS) as the management API's listener routes see it.</summary>
internal sealed class SocketListenerInfo(IConnectionListener listener) : IListenerInfo
{
    public string Name => listener.Name;

    public string Protocol => listener.Protocol;

    public string ListenOn => listener.ListenOn;

    public int Acceptors => listener.Acceptors;

    public int MaxConnections => listener.MaxConnections;

    public int CurrentConnections => listener.CurrentConnections;

    public IReadOnlyDictionary<string, long> ShutdownCounts => listener.ShutdownCount.Snapshot();

    public void RecordShutdown(string reason) => listener.RecordShutdown(reason);
}
