using System.Net;
using System.Net.Sockets;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Metrics;
using Broker.Transport.Tcp;

namespace Broker.Tests.EndToEnd;

/// <summary>
/// A broker served over real TCP on 127.0.0.1 and a port the OS picks, for clients that only speak sockets
/// (MQTTnet, mosquitto_pub/sub, raw byte writers). Runs on the system clock.
/// </summary>
internal sealed class TcpBroker : IAsyncDisposable
{
    private TcpBroker(MqttBroker broker, SocketListener listener)
    {
        Broker = broker;
        Listener = listener;
    }

    public MqttBroker Broker { get; }

    public SocketListener Listener { get; }

    public int Port => ((IPEndPoint)Listener.EndPoint).Port;

    public static string Host => "127.0.0.1";

    /// <summary>Open MQTT connections, as the broker counts them (connected or still before CONNECT).</summary>
    public long Connections => Broker.Stats.GetCount(StatId.Connections);

    public static Task<TcpBroker> StartAsync(Action<BrokerOptions>? configure = null, CancellationToken cancellationToken = default)
        => StartAsync(configure, inlineScheduling: false, cancellationToken);

    /// <summary>Starts a broker; <paramref name="inlineScheduling"/> is the listener's <see cref="SocketListenerOptions.PreferInlineScheduling"/>.</summary>
    public static async Task<TcpBroker> StartAsync(Action<BrokerOptions>? configure, bool inlineScheduling, CancellationToken cancellationToken = default)
    {
        var options = new BrokerOptions { SysInterval = TimeSpan.Zero };
        configure?.Invoke(options);
        var broker = new MqttBroker(options);
        var listener = new SocketListener(
            new SocketListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Acceptors = 1, PreferInlineScheduling = inlineScheduling },
            broker.RunConnectionAsync);
        await listener.StartAsync(cancellationToken);
        return new TcpBroker(broker, listener);
    }

    /// <summary>A raw TCP connection to the broker.</summary>
    public async Task<TcpClient> ConnectRawAsync(CancellationToken cancellationToken)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        return client;
    }

    /// <summary>Whether a client id has a live connection bound to its session.</summary>
    public bool IsConnected(string clientId) => Broker.Sessions.Find(clientId)?.Connection is { IsConnected: true };

    /// <summary>Whether a client id has a session with at least <paramref name="count"/> subscriptions.</summary>
    public bool HasSubscriptions(string clientId, int count = 1) => Broker.Sessions.Find(clientId)?.SubscriptionCount >= count;

    public async ValueTask DisposeAsync()
    {
        await Listener.StopAsync();
        await Broker.DisposeAsync();
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await Listener.CloseConnectionsAsync(grace.Token);
        await Listener.DisposeAsync();
    }
}
