using System.Buffers;
using BenchmarkDotNet.Attributes;
using Broker.Bench.Support;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Codec;

/// <summary>
/// The read loop's inner work on one large read: frame and decode <see cref="Packets"/> PUBLISH packets (QoS 0,
/// 3.1.1, 108 bytes each) from one <see cref="ReadOnlySequence{T}"/> cut into <see cref="SegmentSize"/>-byte segments,
/// so some frames straddle a segment boundary (4096 is a pipe's default segment; 61 makes most of them straddle).
/// </summary>
[MemoryDiagnoser]
public class FramingBench
{
    private const int Packets = 1000;

    private ReadOnlySequence<byte> _buffer;

    [Params(61, 4096)]
    public int SegmentSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] frame = new PacketFixtures().Wire(PacketCase.PublishQoS0V311);
        byte[] all = new byte[frame.Length * Packets];
        for (int i = 0; i < Packets; i++)
        {
            frame.CopyTo(all, i * frame.Length);
        }

        _buffer = Segmented.Split(all, SegmentSize);
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public long FrameAndDecodePublish()
    {
        ReadOnlySequence<byte> buffer = _buffer;
        long payloadBytes = 0;
        while (PacketDecoder.TryReadFrame(buffer, int.MaxValue, out FixedHeader header))
        {
            ReadOnlySequence<byte> body = buffer.Slice(header.HeaderLength, header.RemainingLength);
            PublishPacket publish = PacketDecoder.DecodePublish(header, body, ProtocolVersion.V311);
            payloadBytes += publish.Payload.Length;
            buffer = buffer.Slice(header.PacketLength);
        }

        return payloadBytes;
    }
}
