using Broker.Core;
using Broker.Http.Auth;

namespace Broker.Http;

/// <summary>
/// The services behind the management API: the broker, its listeners, the API's apps, the node's process figures.
/// One per API instance; routes reach it through <see cref="ApiCall.Context"/>. Other subsystems (auth users, ACL,
/// banned...) add their stores here as properties.
/// </summary>
public sealed class ManagementContext
{
    private readonly Func<IReadOnlyList<IListenerInfo>> _listeners;

    public ManagementContext(MqttBroker broker, AppStore apps, Func<IReadOnlyList<IListenerInfo>>? listeners = null)
    {
        Broker = broker ?? throw new ArgumentNullException(nameof(broker));
        Apps = apps ?? throw new ArgumentNullException(nameof(apps));
        _listeners = listeners ?? (static () => []);
        Node = new NodeInfo(broker);
    }

    public MqttBroker Broker { get; }

    /// <summary>The AppID/AppSecret pairs that may call the API.</summary>
    public AppStore Apps { get; }

    /// <summary>The node name (EMQX <c>node.name</c>), the only node of this cluster.</summary>
    public string NodeName => Broker.Options.NodeName;

    /// <summary>Process figures for <c>/nodes</c> and <c>/brokers</c>.</summary>
    public NodeInfo Node { get; }

    public TimeProvider TimeProvider => Broker.TimeProvider;

    /// <summary>The cloud-edge channel, or null while it is off (its <c>/channel/...</c> routes then answer 404).</summary>
    public global::Broker.Http.Channel.CloudEdgeChannel? Channel { get; set; }

    /// <summary>Every listener, MQTT and HTTP, in a stable order.</summary>
    public IReadOnlyList<IListenerInfo> Listeners => _listeners();

    /// <summary>The listener a client connected through, by <c>ConnectionInfo.ListenerName</c>, or null.</summary>
    public IListenerInfo? FindListener(string name)
    {
        foreach (IListenerInfo listener in Listeners)
        {
            if (string.Equals(listener.Name, name, StringComparison.Ordinal))
            {
                return listener;
            }
        }

        return null;
    }
}
