using System.Buffers;
using System.Text;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Broker.Tests.EndToEnd;

/// <summary>What an MQTTnet client received, copied out of the event (MQTTnet may reuse the payload buffer).</summary>
internal sealed record ReceivedMessage(
    string Topic,
    byte[] Payload,
    MqttQualityOfServiceLevel QoS,
    bool Retain,
    string? ContentType,
    string? ResponseTopic,
    byte[]? CorrelationData,
    IReadOnlyList<KeyValuePair<string, string>> UserProperties,
    IReadOnlyList<uint> SubscriptionIdentifiers,
    ushort TopicAlias)
{
    public string PayloadText => Encoding.UTF8.GetString(Payload);

    public static ReceivedMessage From(MqttApplicationMessage message)
    {
        var userProperties = new List<KeyValuePair<string, string>>();
        if (message.UserProperties is { } properties)
        {
            foreach (MqttUserProperty property in properties)
            {
                userProperties.Add(new(property.Name, Encoding.UTF8.GetString(property.ValueBuffer.Span)));
            }
        }

        return new ReceivedMessage(
            message.Topic,
            message.Payload.ToArray(),
            message.QualityOfServiceLevel,
            message.Retain,
            message.ContentType,
            message.ResponseTopic,
            message.CorrelationData,
            userProperties,
            message.SubscriptionIdentifiers is { } ids ? [.. ids] : [],
            message.TopicAlias);
    }
}

/// <summary>An MQTTnet client with its received messages in a channel and its disconnect as a task.</summary>
internal sealed class NetClient : IDisposable
{
    private readonly Channel<ReceivedMessage> _received = Channel.CreateUnbounded<ReceivedMessage>();
    private readonly TaskCompletionSource<MqttClientDisconnectedEventArgs> _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NetClient(IMqttClient client)
    {
        Client = client;
        client.ApplicationMessageReceivedAsync += e =>
        {
            _received.Writer.TryWrite(ReceivedMessage.From(e.ApplicationMessage));
            return Task.CompletedTask;
        };
        client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected)
            {
                _disconnected.TrySetResult(e);
            }

            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public MqttClientConnectResult ConnectResult { get; private set; } = null!;

    /// <summary>Completes when the connection ends after having been established.</summary>
    public Task<MqttClientDisconnectedEventArgs> Disconnected => _disconnected.Task;

    /// <summary>Messages received and not yet taken.</summary>
    public int Pending => _received.Reader.Count;

    public static Task<NetClient> ConnectAsync(
        TcpBroker broker, string clientId, MqttProtocolVersion version, CancellationToken cancellationToken, Action<MqttClientOptionsBuilder>? configure = null)
        => ConnectAsync(broker.Port, clientId, version, cancellationToken, configure);

    /// <summary>Connects to a broker on 127.0.0.1:<paramref name="port"/>.</summary>
    public static Task<NetClient> ConnectAsync(
        int port, string clientId, MqttProtocolVersion version, CancellationToken cancellationToken, Action<MqttClientOptionsBuilder>? configure = null)
        => ConnectWithAsync(new MqttClientOptionsBuilder().WithTcpServer(TcpBroker.Host, port), clientId, version, configure, cancellationToken);

    /// <summary>Connects over WebSocket to <paramref name="uri"/> (<c>ws://</c> or <c>wss://</c>).</summary>
    public static Task<NetClient> ConnectWebSocketAsync(
        string uri, string clientId, MqttProtocolVersion version, CancellationToken cancellationToken, Action<MqttClientOptionsBuilder>? configure = null)
        => ConnectWithAsync(new MqttClientOptionsBuilder().WithWebSocketServer(w => w.WithUri(uri)), clientId, version, configure, cancellationToken);

    private static async Task<NetClient> ConnectWithAsync(
        MqttClientOptionsBuilder builder, string clientId, MqttProtocolVersion version, Action<MqttClientOptionsBuilder>? configure, CancellationToken cancellationToken)
    {
        var client = new NetClient(new MqttClientFactory().CreateMqttClient());
        builder
            .WithProtocolVersion(version)
            .WithClientId(clientId)
            .WithTimeout(TimeSpan.FromSeconds(10));
        configure?.Invoke(builder);
        try
        {
            client.ConnectResult = await client.Client.ConnectAsync(builder.Build(), cancellationToken);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        Assert.That(client.ConnectResult.ResultCode, Is.EqualTo(MqttClientConnectResultCode.Success), $"CONNACK of {clientId}");
        return client;
    }

    public async Task SubscribeAsync(string filter, MqttQualityOfServiceLevel qos, CancellationToken cancellationToken, uint subscriptionIdentifier = 0)
    {
        MqttClientSubscribeOptionsBuilder builder = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, qos);
        if (subscriptionIdentifier != 0)
        {
            builder.WithSubscriptionIdentifier(subscriptionIdentifier);
        }

        MqttClientSubscribeResult result = await Client.SubscribeAsync(builder.Build(), cancellationToken);
        Assert.That((int)result.Items.Single().ResultCode, Is.EqualTo((int)qos), $"SUBACK for {filter}");
    }

    public async Task PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        MqttClientPublishResult result = await Client.PublishAsync(message, cancellationToken);
        Assert.That(result.IsSuccess, Is.True, $"PUBLISH to {message.Topic}: {result.ReasonCode}");
    }

    public Task PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, CancellationToken cancellationToken, bool retain = false)
        => PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).WithRetainFlag(retain).Build(), cancellationToken);

    public Task PublishAsync(string topic, string payload, MqttQualityOfServiceLevel qos, CancellationToken cancellationToken, bool retain = false)
        => PublishAsync(topic, Encoding.UTF8.GetBytes(payload), qos, cancellationToken, retain);

    public async Task<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken)
        => await _received.Reader.ReadAsync(cancellationToken);

    /// <summary>The next message on <paramref name="topic"/>, skipping others.</summary>
    public async Task<ReceivedMessage> ReceiveAsync(string topic, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReceivedMessage message = await ReceiveAsync(cancellationToken);
            if (message.Topic == topic)
            {
                return message;
            }
        }
    }

    public bool TryReceive(out ReceivedMessage? message) => _received.Reader.TryRead(out message);

    public Task DisconnectAsync(CancellationToken cancellationToken)
        => Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cancellationToken);

    public void Dispose() => Client.Dispose();
}

/// <summary>A <see cref="TcpBroker"/> and the MQTTnet clients a test connects to it, disposed together.</summary>
internal sealed class NetClientScope : IAsyncDisposable
{
    private readonly List<NetClient> _clients = [];

    private NetClientScope(TcpBroker broker) => Broker = broker;

    public TcpBroker Broker { get; }

    public static async Task<NetClientScope> StartAsync(bool inlineScheduling = false)
        => new(await TcpBroker.StartAsync(configure: null, inlineScheduling));

    public async Task<NetClient> ConnectAsync(string clientId, MqttProtocolVersion version, CancellationToken cancellationToken, Action<MqttClientOptionsBuilder>? configure = null)
    {
        NetClient client = await NetClient.ConnectAsync(Broker, clientId, version, cancellationToken, configure);
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (NetClient client in _clients)
        {
            client.Dispose();
        }

        _clients.Clear();
        await Broker.DisposeAsync();
    }
}
