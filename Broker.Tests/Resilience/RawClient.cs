using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.EndToEnd;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Resilience;

/// <summary>
/// An MQTT client over a raw socket that reads in the background: counts PUBLISH by topic (and checks each QoS 1
/// sequence is in order), acknowledges QoS 1, and notes DISCONNECT and the close. Or, with <c>read: false</c>, a client
/// that stops reading after CONNACK/SUBACK (a stalled consumer).
/// </summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ProtocolVersion _version;
    private readonly Dictionary<string, int> _received = new(StringComparer.Ordinal);
    private readonly object _sync = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private Task? _reader;

    private RawClient(Socket socket, ProtocolVersion version)
    {
        _socket = socket;
        _version = version;
    }

    public Socket Socket => _socket;

    public DisconnectPacket? Disconnect { get; private set; }

    /// <summary>Completes when the broker closed the connection.</summary>
    public Task Closed => _reader ?? Task.CompletedTask;

    /// <summary>QoS 1 messages whose payload (an int) was not the one after the previous on its topic.</summary>
    public int OutOfOrder { get; private set; }

    public static async Task<RawClient> ConnectAsync(int port, string clientId, CancellationToken cancellationToken, ProtocolVersion version = ProtocolVersion.V500, int receiveBufferSize = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize;
        }

        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        var client = new RawClient(socket, version);
        await client.SendAsync(RawMqtt.Connect(clientId, version), cancellationToken);
        object? connack = await client.ReadOneAsync(cancellationToken);
        Assert.That((connack as ConnAckPacket)?.ReasonCode, Is.EqualTo(ReasonCode.Success), $"CONNACK of {clientId}");
        return client;
    }

    public async Task SubscribeAsync(string filter, QualityOfService qos, CancellationToken cancellationToken)
    {
        await SendAsync(CodecDriver.Encode(new SubscribePacket { PacketIdentifier = 1, Subscriptions = [new TopicSubscription(filter, qos)] }, _version), cancellationToken);
        Assert.That(await ReadOneAsync(cancellationToken), Is.InstanceOf<SubAckPacket>());
    }

    /// <summary>From now on, reads everything in the background (acknowledging QoS 1).</summary>
    public void StartReading() => _reader = Task.Run(ReadLoopAsync);

    public int Received(string topic)
    {
        lock (_sync)
        {
            return _received.GetValueOrDefault(topic);
        }
    }

    public Task SendAsync(byte[] bytes, CancellationToken cancellationToken) => _socket.SendAsync(bytes, SocketFlags.None, cancellationToken).AsTask();

    public static byte[] Publish(string topic, byte[] payload, QualityOfService qos, ushort packetId, ProtocolVersion version = ProtocolVersion.V500)
        => CodecDriver.Encode(new PublishModel { TopicName = System.Text.Encoding.UTF8.GetBytes(topic), Payload = payload, QoS = qos, PacketIdentifier = packetId, Properties = [] }, version);

    private async Task<object?> ReadOneAsync(CancellationToken cancellationToken)
    {
        using var stream = new NetworkStream(_socket, ownsSocket: false);
        return await RawMqtt.ReadPacketAsync(stream, _version, cancellationToken);
    }

    private async Task ReadLoopAsync()
    {
        var lastSequence = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                int read = await _socket.ReceiveAsync(_buffer.GetMemory(16 * 1024), SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                _buffer.Advance(read);
                var sequence = new ReadOnlySequence<byte>(_buffer.WrittenMemory);
                long consumed = 0;
                var acks = new ArrayBufferWriter<byte>();
                while (PacketDecoder.TryReadFrame(sequence, CodecDriver.NoLimit, out FixedHeader header))
                {
                    object packet = PacketDecoder.Decode(header, sequence.Slice(header.HeaderLength, header.RemainingLength), _version);
                    sequence = sequence.Slice(header.PacketLength);
                    consumed += header.PacketLength;
                    if (packet is PublishPacket publish)
                    {
                        string topic = System.Text.Encoding.UTF8.GetString(publish.TopicName.ToArray());
                        if (publish.QoS == QualityOfService.AtLeastOnce)
                        {
                            acks.Write(CodecDriver.Encode(new PublishAckPacket(PacketType.PubAck, publish.PacketIdentifier), _version));
                            int value = BitConverter.ToInt32(publish.Payload.ToArray());
                            if (lastSequence.TryGetValue(topic, out int last) && value != last + 1)
                            {
                                OutOfOrder++;
                            }

                            lastSequence[topic] = value;
                        }

                        lock (_sync)
                        {
                            _received[topic] = _received.GetValueOrDefault(topic) + 1;
                        }
                    }
                    else if (packet is DisconnectPacket disconnect)
                    {
                        Disconnect = disconnect;
                    }
                }

                byte[] rest = _buffer.WrittenSpan[(int)consumed..].ToArray();
                _buffer.ResetWrittenCount();
                _buffer.Write(rest);
                if (acks.WrittenCount > 0)
                {
                    await _socket.SendAsync(acks.WrittenMemory, SocketFlags.None);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (_reader is not null)
        {
            await _reader;
        }
    }
}
