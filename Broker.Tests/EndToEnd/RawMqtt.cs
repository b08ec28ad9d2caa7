using System.Buffers;
using System.Net.Sockets;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.EndToEnd;

/// <summary>Hand-written MQTT over a raw socket: for what a client library will not do (wills on a killed socket, bad bytes).</summary>
internal static class RawMqtt
{
    public static byte[] Connect(string clientId, ProtocolVersion version, ushort keepAlive = 0, WillMessage? will = null)
        => CodecDriver.Encode(output => PacketEncoder.WriteConnect(output, new ConnectPacket
        {
            ClientId = clientId,
            ProtocolVersion = version,
            CleanStart = true,
            KeepAlive = keepAlive,
            Will = will,
        }));

    /// <summary>Reads one whole packet and decodes it; null when the broker closed the connection first.</summary>
    public static async Task<object?> ReadPacketAsync(NetworkStream stream, ProtocolVersion version, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
            if (PacketDecoder.TryReadFrame(sequence, CodecDriver.NoLimit, out FixedHeader header))
            {
                return PacketDecoder.Decode(header, sequence.Slice(header.HeaderLength, header.RemainingLength), version);
            }

            // One byte at a time, so nothing after this packet is consumed.
            int read = await stream.ReadAsync(buffer.GetMemory(1)[..1], cancellationToken);
            if (read == 0)
            {
                return null;
            }

            buffer.Advance(read);
        }
    }

    /// <summary>Reads and discards until the peer closes (end of stream or reset); false when <paramref name="timeout"/> passes first.</summary>
    public static async Task<bool> WaitClosedAsync(Socket socket, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        byte[] sink = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(sink, SocketFlags.None, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
