using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// A minimal MQTT client connection over a <see cref="Socket"/>: CONNECT and SUBSCRIBE through the repository's
/// codec, then framing over one contiguous receive buffer with <see cref="PacketDecoder.TryReadFrame(in ReadOnlySequence{byte}, int, out FixedHeader)"/>.
/// Socket send/receive with <see cref="Memory{T}"/> reuse the socket's cached awaitables: no allocation per call.
/// Each direction has one owner (a publisher's send loop, a receive loop), so nothing here locks.
/// </summary>
internal sealed class MqttLoadConnection : IDisposable
{
    private const int MaximumPacketSize = 16 * 1024 * 1024;

    private readonly Socket _socket;
    private byte[] _buffer;
    private int _start;
    private int _end;

    private MqttLoadConnection(Socket socket, ProtocolVersion version, int bufferSize)
    {
        _socket = socket;
        Version = version;
        _buffer = new byte[bufferSize];
    }

    public ProtocolVersion Version { get; }

    /// <summary>The broker's Receive Maximum (v5 CONNACK), 65535 when it sent none.</summary>
    public int ReceiveMaximum { get; private set; } = 65535;

    public static Task<MqttLoadConnection> ConnectAsync(EndPoint broker, string clientId, ProtocolVersion version, int bufferSize, int sendBufferSize, CancellationToken cancellationToken, bool cleanStart = true)
        => ConnectAsync(broker, ConnectTemplate.Encode(clientId, version, cleanStart), version, bufferSize, sendBufferSize, noDelay: true, cancellationToken).AsTask();

    /// <summary>
    /// TCP connect, send the encoded <paramref name="connect"/> packet, wait for CONNACK. <paramref name="connect"/>
    /// is only read until the returned task completes (the send is done by then), so the caller may reuse it.
    /// <paramref name="noDelay"/> false saves a setsockopt for connections that never send after CONNECT (idle):
    /// Nagle only holds back data sent while earlier data is unacknowledged, and the CONNECT is the first.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<MqttLoadConnection> ConnectAsync(EndPoint broker, ReadOnlyMemory<byte> connect, ProtocolVersion version, int bufferSize, int sendBufferSize, bool noDelay, CancellationToken cancellationToken)
    {
        var socket = new Socket(broker.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (noDelay)
        {
            socket.NoDelay = true;
        }

        if (sendBufferSize > 0)
        {
            // Publishers: a bounded kernel queue, so a broker that reads slowly pushes back within milliseconds and
            // the drain after the window does not wait for megabytes of loopback autotuned buffer.
            socket.SendBufferSize = sendBufferSize;
        }

        var connection = new MqttLoadConnection(socket, version, bufferSize);
        try
        {
            await socket.ConnectAsync(broker, cancellationToken).ConfigureAwait(false);
            await connection.SendAsync(connect, cancellationToken).ConfigureAwait(false);
            FixedHeader header = await connection.ReadControlPacketAsync(PacketType.ConnAck, cancellationToken).ConfigureAwait(false);
            ConnAckPacket connAck = PacketDecoder.DecodeConnAck(connection.Body(header), version);
            connection.Consume(header);
            if (connAck.ReasonCode != ReasonCode.Success)
            {
                throw new InvalidOperationException($"CONNACK refused {ClientIdOf(connect)}: {connAck.ReasonCode}");
            }

            if (connAck.Properties?.ReceiveMaximum is ushort receiveMaximum)
            {
                connection.ReceiveMaximum = receiveMaximum;
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public async Task SubscribeAsync(string topicFilter, QualityOfService qos, CancellationToken cancellationToken)
    {
        var output = new ArrayBufferWriter<byte>(64);
        var subscribe = new SubscribePacket { PacketIdentifier = 1 };
        subscribe.Subscriptions.Add(new TopicSubscription(topicFilter, qos));
        PacketEncoder.WriteSubscribe(output, subscribe, Version);
        await SendAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        FixedHeader header = await ReadControlPacketAsync(PacketType.SubAck, cancellationToken).ConfigureAwait(false);
        SubAckPacket subAck = PacketDecoder.DecodeSubAck(Body(header), Version);
        Consume(header);
        if (subAck.ReasonCodes.Count != 1 || (int)subAck.ReasonCodes[0] > 2)
        {
            throw new InvalidOperationException($"SUBACK refused {topicFilter}: {(subAck.ReasonCodes.Count > 0 ? subAck.ReasonCodes[0] : "none")}");
        }
    }

    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        => _socket.SendAsync(data, SocketFlags.None, cancellationToken);

    /// <summary>Receives more bytes after those not yet consumed; 0 when the broker closed the connection.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            if (_start == 0)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);   // one frame larger than the buffer: rare, at start-up only
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
        }

        int received = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        _end += received;
        return received;
    }

    /// <summary>Frames the next complete packet in the buffer; false means "receive more".</summary>
    public bool TryReadFrame(out FixedHeader header)
        => PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(_buffer, _start, _end - _start), MaximumPacketSize, out header);

    /// <summary>The bytes after the fixed header of the framed packet.</summary>
    public ReadOnlySequence<byte> Body(in FixedHeader header)
        => new(_buffer, _start + header.HeaderLength, header.RemainingLength);

    public ReadOnlySpan<byte> BodySpan(in FixedHeader header)
        => _buffer.AsSpan(_start + header.HeaderLength, header.RemainingLength);

    public void Consume(in FixedHeader header) => _start += header.PacketLength;

    /// <summary>Closes with RST (linger 0): thousands of closes leave no TIME_WAIT ports behind for the next run.</summary>
    public void Abort()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    public void Dispose() => _socket.Dispose();

    private static string ClientIdOf(ReadOnlyMemory<byte> connect)
    {
        var packet = new ReadOnlySequence<byte>(connect);
        return PacketDecoder.TryReadFrame(packet, MaximumPacketSize, out FixedHeader header)
            ? PacketDecoder.DecodeConnect(packet.Slice(header.HeaderLength, header.RemainingLength)).ClientId
            : "?";
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FixedHeader> ReadControlPacketAsync(PacketType expected, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryReadFrame(out FixedHeader header))
            {
                if (header.Type == expected)
                {
                    return header;
                }

                Consume(header);   // e.g. a retained message before SUBACK: not part of the measurement
                continue;
            }

            if (await ReceiveAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new InvalidOperationException($"connection closed while waiting for {expected}");
            }
        }
    }
}
