using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>Variable Byte Integer [MQTT-1.5.5] (3.1.1 §2.2.3): the spec's table, minimal encoding, limits, and reading across segments.</summary>
[TestFixture]
public sealed class VariableByteIntegerTests
{
    public static IEnumerable<TestCaseData> Table => PacketVectors.VariableByteIntegers.Select(e => new TestCaseData(e.Value, e.Bytes).SetArgDisplayNames(e.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Bytes));

    [TestCaseSource(nameof(Table))]
    public void Write_SpecTable_ProducesTheTableBytes(int value, string bytes)
    {
        var destination = new byte[4];

        int written = VariableByteInteger.Write(destination, value);

        Assert.That(Hex.Format(destination.AsSpan(0, written)), Is.EqualTo(Hex.Format(Hex.Parse(bytes))));
        Assert.That(VariableByteInteger.GetSize(value), Is.EqualTo(written));
    }

    [TestCaseSource(nameof(Table))]
    public void TryRead_SpecTable_ReadsTheValue(int value, string bytes)
    {
        byte[] encoded = Hex.Parse(bytes);

        bool complete = VariableByteInteger.TryRead([.. encoded, 0xFF, 0x7F], out int read, out int length);

        Assert.That(complete, Is.True);
        Assert.That(read, Is.EqualTo(value));
        Assert.That(length, Is.EqualTo(encoded.Length), "stops after its last byte");
    }

    [TestCaseSource(nameof(Table))]
    public void TryRead_EveryPrefix_NeedsMore(int value, string bytes)
    {
        byte[] encoded = Hex.Parse(bytes);

        for (int length = 0; length < encoded.Length; length++)
        {
            Assert.That(VariableByteInteger.TryRead(encoded.AsSpan(0, length), out _, out int read), Is.False, $"{length}-byte prefix of {value}");
            Assert.That(read, Is.Zero);
        }
    }

    [TestCaseSource(nameof(Table))]
    public void ReadVariableByteInteger_SplitAtEveryOffset_ReadsTheValue(int value, string bytes)
    {
        byte[] frame = [.. Hex.Parse(bytes), 0xAB];

        for (int at = 0; at <= frame.Length; at++)
        {
            var reader = new MqttReader(Sequences.Split(frame, at));
            Assert.That(reader.ReadVariableByteInteger(), Is.EqualTo(value), $"split at {at}");
            Assert.That(reader.ReadByte(), Is.EqualTo(0xAB));
            Assert.That(reader.End, Is.True);
        }

        var segmented = new MqttReader(Sequences.Segmented(frame));
        Assert.That(segmented.ReadVariableByteInteger(), Is.EqualTo(value), "1-byte segments");
    }

    [TestCaseSource(nameof(Table))]
    public void TryReadFrame_RemainingLengthTable_ReadsTheValueFromTheHeader(int value, string bytes)
    {
        // The size check sees the decoded remaining length before the body exists: the limit at exactly the packet
        // length passes ("need more"), one below throws 0x95. Works up to 268,435,455 without allocating the body.
        byte[] header = [0x30, .. Hex.Parse(bytes)];
        int packetLength = header.Length + value;

        bool framed = PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(header), packetLength, out _);
        var e = Assert.Throws<ProtocolException>(() => PacketDecoder.TryReadFrame(Sequences.Segmented(header), packetLength - 1, out _));

        Assert.That(framed, Is.EqualTo(value == 0), "only an empty body is complete");
        Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.PacketTooLarge));
    }

    [Test]
    public void WriteThenRead_EveryValueUpToThreeBytesAndASweepOfFourByteValues_RoundTrips()
    {
        Span<byte> buffer = stackalloc byte[4];
        for (int value = 0; value <= VariableByteInteger.MaxValue; value = value < 2_097_152 ? value + 1 : value + 997)
        {
            int written = VariableByteInteger.Write(buffer, value);
            bool complete = VariableByteInteger.TryRead(buffer[..written], out int read, out int length);
            if (!complete || read != value || length != written || written != VariableByteInteger.GetSize(value))
            {
                Assert.Fail($"{value}: wrote {Hex.Format(buffer[..written])}, read {read} from {length} bytes, GetSize {VariableByteInteger.GetSize(value)}");
            }
        }

        Assert.That(VariableByteInteger.Write(buffer, VariableByteInteger.MaxValue), Is.EqualTo(4));
    }

    [TestCase("80 00")]          // [MQTT-1.5.5-1] 0 in two bytes
    [TestCase("FF 00")]          // [MQTT-1.5.5-1] 127 in two bytes
    [TestCase("80 80 00")]       // [MQTT-1.5.5-1] 0 in three bytes
    [TestCase("FF FF 00")]       // [MQTT-1.5.5-1] 16,383 in three bytes
    [TestCase("80 80 80 00")]    // [MQTT-1.5.5-1] 0 in four bytes
    [TestCase("FF FF FF 00")]    // [MQTT-1.5.5-1] 2,097,151 in four bytes
    [TestCase("80 80 80 80 01")] // [MQTT-1.5.5] at most four bytes
    [TestCase("FF FF FF FF 7F")] // [MQTT-1.5.5] a fifth byte would exceed 268,435,455
    [TestCase("80 80 80 80")]    // [MQTT-1.5.5] the fourth byte may not announce a fifth
    public void TryRead_NonMinimalOrTooLong_ThrowsMalformed(string bytes)
    {
        byte[] input = Hex.Parse(bytes);

        var fromSpan = Assert.Throws<ProtocolException>(() => VariableByteInteger.TryRead(input, out _, out _));
        var fromReader = Assert.Throws<ProtocolException>(() => new MqttReader(Sequences.Segmented(input)).ReadVariableByteInteger());

        Assert.That(fromSpan.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
        Assert.That(fromReader.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
    }

    [TestCase("")]       // [MQTT-1.5.5] inside a frame, a missing integer is malformed, not "need more"
    [TestCase("80")]     // [MQTT-1.5.5] continuation bit on the frame's last byte
    [TestCase("FF FF")]
    [TestCase("80 80 80")]
    public void ReadVariableByteInteger_CutByTheFrameEnd_ThrowsMalformed(string bytes)
    {
        byte[] input = Hex.Parse(bytes);

        var contiguous = Assert.Throws<ProtocolException>(() => new MqttReader(new ReadOnlySequence<byte>(input)).ReadVariableByteInteger());
        var segmented = Assert.Throws<ProtocolException>(() => new MqttReader(Sequences.Segmented(input)).ReadVariableByteInteger());

        Assert.That(contiguous.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
        Assert.That(segmented.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
    }

    [TestCase(-1)]
    [TestCase(268_435_456)]
    [TestCase(int.MaxValue)]
    [TestCase(int.MinValue)]
    public void Write_OutOfRange_Throws(int value)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => VariableByteInteger.Write(new byte[8], value));
    }
}
