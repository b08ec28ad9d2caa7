using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>
/// <see cref="PacketDecoder.TryReadFrame"/>: "need more" for every prefix, the same packet whatever the segment
/// boundaries, several packets per buffer, the size limit on the header alone, and the fixed header rules.
/// </summary>
[TestFixture]
public sealed class PacketDecoderFramingTests
{
    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void TryReadFrame_EveryPrefix_NeedsMoreAndConsumesNothing(PacketVector vector)
    {
        byte[] bytes = vector.Bytes;
        for (int length = 0; length < bytes.Length; length++)
        {
            byte[] prefix = bytes[..length];

            bool framed = PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(prefix), CodecDriver.NoLimit, out FixedHeader header);
            bool framedSegmented = PacketDecoder.TryReadFrame(Sequences.Segmented(prefix), CodecDriver.NoLimit, out _);
            List<object> packets = CodecDriver.DecodeAll(new ReadOnlySequence<byte>(prefix), vector.Version, out long consumed);

            Assert.That(framed, Is.False, $"{length}-byte prefix");
            Assert.That(framedSegmented, Is.False, $"{length}-byte prefix in 1-byte segments");
            Assert.That(header.PacketLength, Is.Zero, "no header is reported for a prefix");
            Assert.That(packets, Is.Empty);
            Assert.That(consumed, Is.Zero);
        }
    }

    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void TryReadFrame_WholePacketWithBytesAfterIt_FramesExactlyThePacket(PacketVector vector)
    {
        byte[] bytes = vector.Bytes;
        byte[] followed = [.. bytes, 0xC0, 0x00, 0xFF];

        Assert.That(PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(bytes), CodecDriver.NoLimit, out FixedHeader exact), Is.True);
        Assert.That(PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(followed), CodecDriver.NoLimit, out FixedHeader longer), Is.True);
        Assert.That(exact.PacketLength, Is.EqualTo(bytes.Length));
        Assert.That(exact.Type, Is.EqualTo((PacketType)(bytes[0] >> 4)));
        Assert.That(exact.Flags, Is.EqualTo(bytes[0] & 0x0F));
        Assert.That(longer.PacketLength, Is.EqualTo(bytes.Length));
        Assert.That(longer.HeaderLength, Is.EqualTo(exact.HeaderLength));
    }

    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void Decode_SplitAtEveryOffset_ProducesSamePacket(PacketVector vector)
    {
        byte[] bytes = vector.Bytes;
        string expected = CodecDriver.Dump(CodecDriver.DecodeSingle(bytes, vector.Version));

        // 0 and Length put an empty segment first or last, which a PipeReader can hand over too.
        for (int at = 0; at <= bytes.Length; at++)
        {
            object packet = CodecDriver.DecodeSingle(Sequences.Split(bytes, at), vector.Version, out _);
            Assert.That(CodecDriver.Dump(packet), Is.EqualTo(expected), $"split at {at}");
        }
    }

    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void Decode_SplitInThreeAtEveryPairOfOffsets_ProducesSamePacket(PacketVector vector)
    {
        byte[] bytes = vector.Bytes;
        string expected = CodecDriver.Dump(CodecDriver.DecodeSingle(bytes, vector.Version));
        int[] offsets = SplitOffsets(bytes.Length);

        foreach (int first in offsets)
        {
            foreach (int second in offsets)
            {
                if (second < first)
                {
                    continue;
                }

                object packet = CodecDriver.DecodeSingle(Sequences.Split(bytes, first, second), vector.Version, out _);
                Assert.That(CodecDriver.Dump(packet), Is.EqualTo(expected), $"split at {first} and {second}");
            }
        }
    }

    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void Decode_OneByteSegments_ProducesSamePacket(PacketVector vector)
    {
        string expected = CodecDriver.Dump(CodecDriver.DecodeSingle(vector.Bytes, vector.Version));

        object packet = CodecDriver.DecodeSingle(Sequences.Segmented(vector.Bytes), vector.Version, out FixedHeader header);

        Assert.That(CodecDriver.Dump(packet), Is.EqualTo(expected));
        Assert.That(header.PacketLength, Is.EqualTo(vector.Bytes.Length));
    }

    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public void DecodeAll_SeveralPacketsInOneBuffer_DecodesThemInOrder(ProtocolVersion version)
    {
        PacketVector[] vectors = [.. PacketVectors.All.Where(v => v.Version == version || (version == ProtocolVersion.V310 && v.Version == ProtocolVersion.V311 && v.Model is not ConnectPacket))];
        byte[] stream = [.. vectors.SelectMany(v => v.Bytes)];
        string[] expected = [.. vectors.Select(v => CodecDriver.Dump(CodecDriver.DecodeSingle(v.Bytes, version)))];

        List<object> packets = CodecDriver.DecodeAll(new ReadOnlySequence<byte>(stream), version, out long consumed);

        Assert.That(packets.Select(CodecDriver.Dump), Is.EqualTo(expected));
        Assert.That(consumed, Is.EqualTo(stream.Length));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public void DecodeAll_SeveralPacketsSplitAtEveryOffset_DecodesThemInOrder(ProtocolVersion version)
    {
        PacketVector[] vectors = [.. PacketVectors.ForVersion(version)];
        byte[] stream = [.. vectors.SelectMany(v => v.Bytes)];
        string[] expected = [.. vectors.Select(v => CodecDriver.Dump(CodecDriver.DecodeSingle(v.Bytes, version)))];

        for (int at = 0; at <= stream.Length; at++)
        {
            List<object> packets = CodecDriver.DecodeAll(Sequences.Split(stream, at), version, out long consumed);

            Assert.That(packets.Select(CodecDriver.Dump), Is.EqualTo(expected), $"split at {at}");
            Assert.That(consumed, Is.EqualTo(stream.Length));
        }
    }

    [Test]
    public void DecodeAll_BufferEndsInsideAPacket_ConsumesOnlyTheWholeOnes()
    {
        byte[] whole = [.. PacketVectors.PublishV311.Bytes, .. PacketVectors.PubAckV311.Bytes];
        byte[] partial = PacketVectors.SubscribeV311.Bytes[..5];

        List<object> packets = CodecDriver.DecodeAll(new ReadOnlySequence<byte>([.. whole, .. partial]), ProtocolVersion.V311, out long consumed);

        Assert.That(packets, Has.Count.EqualTo(2));
        Assert.That(consumed, Is.EqualTo(whole.Length));
    }

    [TestCase("30 FF 7F", 1024)]            // 5.0 §3.2.2.3.6: 16,386 bytes announced, limit 1,024
    [TestCase("30 FF FF FF 7F", 1_000_000)] // 5.0 §3.2.2.3.6: the largest remaining length, 268,435,455
    [TestCase("C0 FE 07", 1024)]            // 5.0 §3.1.2.11.4: the size is the whole packet, 3 + 1,022 = 1,025
    [TestCase("82 81 01", 130)]             // 5.0 §3.1.2.11.4: 3 + 129 = 132
    public void TryReadFrame_RemainingLengthAboveMaximum_ThrowsPacketTooLargeBeforeTheBody(string header, int maximumPacketSize)
    {
        // 5.0 §3.1.2.11.4 / §3.2.2.3.6: a packet above the Maximum Packet Size is answered with 0x95; checked on
        // the fixed header alone, so the body is never buffered.
        byte[] bytes = Hex.Parse(header);

        var contiguous = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(bytes), maximumPacketSize, out _));
        var segmented = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(Sequences.Segmented(bytes), maximumPacketSize, out _));

        Assert.That(contiguous.ReasonCode, Is.EqualTo(ReasonCode.PacketTooLarge));
        Assert.That(segmented.ReasonCode, Is.EqualTo(ReasonCode.PacketTooLarge));
    }

    [Test]
    public void TryReadFrame_PacketOfExactlyTheMaximum_IsAccepted()
    {
        byte[] header = Hex.Parse("30 FD 07"); // 3 + 1,021 = 1,024
        byte[] packet = [.. header, 0x00, 0x01, (byte)'t', .. new byte[1018]];

        bool headerOnly = PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(header), 1024, out _);
        bool whole = PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(packet), 1024, out FixedHeader frame);

        Assert.That(headerOnly, Is.False);
        Assert.That(whole, Is.True);
        Assert.That(frame.PacketLength, Is.EqualTo(1024));
    }

    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void TryReadFrame_MaximumOneBelowThePacket_ThrowsPacketTooLargeOnTheHeaderAlone(PacketVector vector)
    {
        PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(vector.Bytes), CodecDriver.NoLimit, out FixedHeader frame);
        byte[] headerOnly = vector.Bytes[..frame.HeaderLength];

        var e = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(headerOnly), vector.Bytes.Length - 1, out _));

        Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.PacketTooLarge));
        Assert.That(PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(vector.Bytes), vector.Bytes.Length, out _), Is.True);
    }

    [TestCase("30 80 80 80 80 01")] // [MQTT-1.5.5] a variable byte integer has at most four bytes
    [TestCase("30 FF FF FF FF 7F")] // [MQTT-1.5.5] five bytes, even when the value would fit
    [TestCase("30 80 80 80 80")]    // [MQTT-1.5.5] a fifth byte announced by the fourth's continuation bit
    [TestCase("C0 80 00")]          // [MQTT-1.5.5-1] (5.0) non-minimal: 0 in two bytes
    [TestCase("30 81 00 61")]       // [MQTT-1.5.5-1] 1 in two bytes
    [TestCase("30 FF 80 00")]       // [MQTT-1.5.5-1] 127 in three bytes
    [TestCase("30 80 80 80 00")]    // [MQTT-1.5.5-1] 0 in four bytes
    public void TryReadFrame_BadRemainingLength_ThrowsMalformed(string bytes)
    {
        byte[] input = Hex.Parse(bytes);

        var contiguous = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(input), CodecDriver.NoLimit, out _));
        var segmented = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(Sequences.Segmented(input), CodecDriver.NoLimit, out _));

        Assert.That(contiguous.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
        Assert.That(segmented.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
    }

    [TestCase("00 00")]             // 3.1.1 §2.2.1 Table 2.1 / 5.0 §2.1.2 Table 2-1: packet type 0 is reserved
    [TestCase("0F 02 00 01")]       // 5.0 §2.1.2: reserved type, whatever the flags
    [TestCase("60 02 00 0A")]       // [MQTT-3.6.1-1] PUBREL flags must be 0010
    [TestCase("63 02 00 0A")]       // [MQTT-3.6.1-1]
    [TestCase("6A 02 00 0A")]       // [MQTT-3.6.1-1]
    [TestCase("80 0E 00 0A 00 03 'a/b' 01 00 03 'c/d' 02")] // [MQTT-3.8.1-1] SUBSCRIBE flags must be 0010
    [TestCase("83 0E 00 0A 00 03 'a/b' 01 00 03 'c/d' 02")] // [MQTT-3.8.1-1]
    [TestCase("A0 0C 00 0A 00 03 'a/b' 00 03 'c/d'")]       // [MQTT-3.10.1-1] UNSUBSCRIBE flags must be 0010
    [TestCase("AA 0C 00 0A 00 03 'a/b' 00 03 'c/d'")]       // [MQTT-3.10.1-1]
    [TestCase("11 10 00 06 'MQIsdp' 03 02 00 3C 00 02 'c3'")] // [MQTT-2.2.2-2] (5.0 [MQTT-2.1.3-1]) CONNECT flags are reserved, 0000
    [TestCase("18 10 00 06 'MQIsdp' 03 02 00 3C 00 02 'c3'")] // [MQTT-2.2.2-2]
    [TestCase("36 09 00 03 'a/b' 00 0A 'hi'")] // [MQTT-3.3.1-4] PUBLISH QoS 3 (both QoS bits set)
    [TestCase("3F 09 00 03 'a/b' 00 0A 'hi'")] // [MQTT-3.3.1-4] QoS 3 with DUP and RETAIN
    [TestCase("38 06 00 03 'a/b' 'x'")]        // [MQTT-3.3.1-2] DUP must be 0 for QoS 0
    [TestCase("39 06 00 03 'a/b' 'x'")]        // [MQTT-3.3.1-2] DUP on a retained QoS 0
    [TestCase("21 02 00 00")]       // [MQTT-2.2.2-2] CONNACK flags reserved
    [TestCase("41 02 00 0A")]       // [MQTT-2.2.2-2] PUBACK flags reserved
    [TestCase("52 02 00 0A")]       // [MQTT-2.2.2-2] PUBREC flags reserved (only PUBREL has 0010)
    [TestCase("72 02 00 0A")]       // [MQTT-2.2.2-2] PUBCOMP flags reserved
    [TestCase("98 03 00 0A 00")]    // [MQTT-2.2.2-2] SUBACK flags reserved
    [TestCase("B2 02 00 0A")]       // [MQTT-2.2.2-2] UNSUBACK flags reserved
    [TestCase("C1 00")]             // [MQTT-2.2.2-2] PINGREQ flags reserved
    [TestCase("D8 00")]             // [MQTT-2.2.2-2] PINGRESP flags reserved
    [TestCase("E2 00")]             // [MQTT-2.2.2-2] DISCONNECT flags reserved
    [TestCase("F1 00")]             // 5.0 [MQTT-2.1.3-1] AUTH flags reserved
    public void TryReadFrame_ReservedTypeOrWrongFlags_ThrowsMalformed(string bytes)
    {
        var e = Assert.Throws<ProtocolException>(() => CodecDriver.DecodeAll(Hex.Parse(bytes), ProtocolVersion.V500));

        Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
    }

    [TestCase(PacketType.Connect, 0b0000)]
    [TestCase(PacketType.ConnAck, 0b0000)]
    [TestCase(PacketType.PubAck, 0b0000)]
    [TestCase(PacketType.PubRec, 0b0000)]
    [TestCase(PacketType.PubRel, 0b0010)]
    [TestCase(PacketType.PubComp, 0b0000)]
    [TestCase(PacketType.Subscribe, 0b0010)]
    [TestCase(PacketType.SubAck, 0b0000)]
    [TestCase(PacketType.Unsubscribe, 0b0010)]
    [TestCase(PacketType.UnsubAck, 0b0000)]
    [TestCase(PacketType.PingReq, 0b0000)]
    [TestCase(PacketType.PingResp, 0b0000)]
    [TestCase(PacketType.Disconnect, 0b0000)]
    [TestCase(PacketType.Auth, 0b0000)]
    public void TryReadFrame_EveryFlagsNibble_OnlyTheSpecifiedOneIsAccepted(PacketType type, int allowed)
    {
        // [MQTT-2.2.2-1], [MQTT-2.2.2-2] (5.0 §2.1.3 Table 2-2): the flags of every packet but PUBLISH are fixed.
        for (int flags = 0; flags < 16; flags++)
        {
            byte[] bytes = [(byte)(((int)type << 4) | flags), 0x00];
            if (flags == allowed)
            {
                Assert.That(PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(bytes), CodecDriver.NoLimit, out _), Is.True);
            }
            else
            {
                var e = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(bytes), CodecDriver.NoLimit, out _), $"flags {flags:B4}");
                Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
            }
        }
    }

    [Test]
    public void TryReadFrame_PublishFlags_AllButQoS3AndDupOnQoS0AreAccepted()
    {
        // [MQTT-3.3.1-4] QoS 3 is malformed; [MQTT-3.3.1-2] DUP must be 0 for QoS 0; RETAIN is free.
        for (int flags = 0; flags < 16; flags++)
        {
            int qos = (flags >> 1) & 3;
            bool dup = (flags & 8) != 0;
            byte[] bytes = [(byte)(0x30 | flags), 0x00];
            if (qos == 3 || (qos == 0 && dup))
            {
                Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(bytes), CodecDriver.NoLimit, out _), $"flags {flags:B4}");
            }
            else
            {
                Assert.That(PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(bytes), CodecDriver.NoLimit, out FixedHeader header), Is.True);
                Assert.That(header.Flags, Is.EqualTo(flags));
            }
        }
    }

    [Test]
    public void Decode_ReservedTypeHeader_ThrowsMalformed()
    {
        var header = new FixedHeader(PacketType.Reserved, 0, 0, 2);

        var e = Assert.Throws<ProtocolException>(() => PacketDecoder.Decode(header, ReadOnlySequence<byte>.Empty, ProtocolVersion.V311));

        Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
    }

    /// <summary>Every offset for short packets; for long ones both ends densely and the middle sparsely.</summary>
    private static int[] SplitOffsets(int length)
    {
        if (length <= 80)
        {
            return [.. Enumerable.Range(0, length + 1)];
        }

        return [.. Enumerable.Range(0, 12).Concat(Enumerable.Range(length - 11, 12)).Concat(Enumerable.Range(1, length / 13).Select(i => i * 13)).Distinct().Order()];
    }
}
