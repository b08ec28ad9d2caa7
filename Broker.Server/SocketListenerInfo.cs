using Broker.Http;
using Broker.Transport.Tcp;

namespace Broker.Server;

/// <summary>An MQTT <see cref="SocketListener"/> as the management API's listener routes see it.</summary>
internal sealed class SocketListenerInfo(SocketListener listener) : IListenerInfo
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
