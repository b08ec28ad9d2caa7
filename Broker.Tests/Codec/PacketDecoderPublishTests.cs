using System.Buffers;
using System.Runtime.InteropServices;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>PUBLISH [MQTT-3.3]: the allocation-free hot path, its property fast path and the forwarding helpers.</summary>
[TestFixture]
public sealed class PacketDecoderPublishTests
{
    private static IEnumerable<TestCaseData> Vectors => PacketVectors.Cases.Where(c => ((PacketVector)c.Arguments[0]!).Model is PublishModel);

    [TestCaseSource(nameof(Vectors))]
    public void Decode_GoldenVector_ReturnsItsFields(PacketVector vector)
    {
        object packet = CodecDriver.DecodeSingle(vector.Bytes, vector.Version);

        Assert.That(CodecDriver.Dump(packet), Is.EqualTo(PacketDump.Of(vector.Model)));
    }

    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    public void DecodePublish_V3SpecExample_ReadsTopicPacketIdAndPayload(ProtocolVersion version)
    {
        PublishPacket packet = Decode(PacketVectors.PublishV311.Bytes, version);

        Assert.That(packet.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(packet.Dup, Is.False);
        Assert.That(packet.Retain, Is.False);
        Assert.That(packet.PacketIdentifier, Is.EqualTo(10));
        Assert.That(packet.TopicName.ToArray(), Is.EqualTo("a/b"u8.ToArray()));
        Assert.That(packet.Payload.ToArray(), Is.EqualTo("hi"u8.ToArray()));
        Assert.That(packet.Properties.Raw.IsEmpty, Is.True);
    }

    [Test]
    public void DecodePublish_V500AllProperties_ReadsTheFieldsTheBrokerActsOn()
    {
        PublishPacket packet = Decode(PacketVectors.PublishV500Properties.Bytes, ProtocolVersion.V500);
        PublishProperties p = packet.Properties;

        Assert.That(packet.QoS, Is.EqualTo(QualityOfService.ExactlyOnce));
        Assert.That(packet.Dup, Is.True);
        Assert.That(packet.Retain, Is.True);
        Assert.That(packet.PacketIdentifier, Is.EqualTo(11));
        Assert.That(p.HasMessageExpiry, Is.True);
        Assert.That(p.MessageExpiryInterval, Is.EqualTo(60));
        Assert.That(p.HasTopicAlias, Is.True);
        Assert.That(p.TopicAlias, Is.EqualTo(5));
        Assert.That(p.HasPayloadFormat, Is.True);
        Assert.That(p.PayloadFormatIndicator, Is.EqualTo(1));
        Assert.That(p.HasResponseTopic, Is.True);
        Assert.That(p.ResponseTopic.ToArray(), Is.EqualTo("r/t"u8.ToArray()));
        Assert.That(p.SubscriptionIdentifierCount, Is.EqualTo(2));
        Assert.That(p.Raw.Length, Is.EqualTo(0x2F));
        Assert.That(p.ForwardableLength, Is.EqualTo(PacketVectors.PublishV500ForwardableProperties.Length));
        Assert.That(packet.Payload.ToArray(), Is.EqualTo("hello"u8.ToArray()));
    }

    [Test]
    public void DecodePublish_TopicAndPayload_AreViewsOfTheReadBuffer()
    {
        byte[] bytes = PacketVectors.PublishV500Properties.Bytes;

        PublishPacket packet = Decode(bytes, ProtocolVersion.V500);

        Assert.That(MemoryMarshal.TryGetArray(packet.TopicName.First, out ArraySegment<byte> topic), Is.True);
        Assert.That(MemoryMarshal.TryGetArray(packet.Payload.First, out ArraySegment<byte> payload), Is.True);
        Assert.That(MemoryMarshal.TryGetArray(packet.Properties.Raw.First, out ArraySegment<byte> raw), Is.True);
        Assert.That(topic.Array, Is.SameAs(bytes));
        Assert.That(topic.Offset, Is.EqualTo(4));
        Assert.That(payload.Array, Is.SameAs(bytes));
        Assert.That(payload.Offset, Is.EqualTo(bytes.Length - 5));
        Assert.That(raw.Array, Is.SameAs(bytes));
        Assert.That(raw.Offset, Is.EqualTo(10));
    }

    [Test]
    public void CopyForwardableProperties_SpecVector_DropsExpiryAliasAndSubscriptionIdsAndKeepsTheRestByteExact()
    {
        PublishPacket packet = Decode(PacketVectors.PublishV500Properties.Bytes, ProtocolVersion.V500);
        var forwardable = new byte[packet.Properties.ForwardableLength];

        PacketDecoder.CopyForwardableProperties(packet.Properties, forwardable);

        Assert.That(Hex.Format(forwardable), Is.EqualTo(Hex.Format(PacketVectors.PublishV500ForwardableProperties)));
    }

    [Test]
    public void CopyForwardableProperties_Interleaved_KeepsTheOthersInOrder()
    {
        // [MQTT-3.3.2-17]/[MQTT-3.3.2-18]: user properties are forwarded unaltered and in order; expiry, alias and
        // subscription ids are rewritten per delivery [MQTT-3.3.2-6], [MQTT-3.3.4-3].
        const string kept1 = "26 00 01 'a' 00 01 '1'";
        const string kept2 = "03 00 01 't'";
        const string kept3 = "26 00 01 'a' 00 01 '2'";
        byte[] properties = Hex.Parse($"0B 07 {kept1} 02 00 00 00 09 {kept2} 23 00 02 0B 81 01 {kept3}");
        byte[] bytes = PacketBuilder.Frame(0x30, Hex.Parse("00 01 't'"), PacketBuilder.Properties(properties), "p"u8.ToArray());

        PublishPacket packet = Decode(bytes, ProtocolVersion.V500);
        var forwardable = new byte[packet.Properties.ForwardableLength];
        PacketDecoder.CopyForwardableProperties(packet.Properties, forwardable);

        Assert.That(Hex.Format(forwardable), Is.EqualTo(Hex.Format(Hex.Parse($"{kept1} {kept2} {kept3}"))));
        Assert.That(PacketDecoder.GetSubscriptionIdentifiers(packet.Properties), Is.EqualTo(new[] { 7, 129 }));
        Assert.That(packet.Properties.MessageExpiryInterval, Is.EqualTo(9));
        Assert.That(packet.Properties.TopicAlias, Is.EqualTo(2));
    }

    [Test]
    public void CopyForwardableProperties_SplitAcrossSegments_IsTheSame()
    {
        byte[] bytes = PacketVectors.PublishV500Properties.Bytes;

        for (int at = 0; at <= bytes.Length; at++)
        {
            var packet = (PublishPacket)CodecDriver.DecodeSingle(Sequences.Split(bytes, at), ProtocolVersion.V500, out _);
            var forwardable = new byte[packet.Properties.ForwardableLength];
            PacketDecoder.CopyForwardableProperties(packet.Properties, forwardable);

            Assert.That(Hex.Format(forwardable), Is.EqualTo(Hex.Format(PacketVectors.PublishV500ForwardableProperties)), $"split at {at}");
        }
    }

    [Test]
    public void CopyForwardableProperties_OnlyPerDeliveryProperties_CopiesNothing()
    {
        byte[] bytes = PacketBuilder.Frame(0x30, Hex.Parse("00 01 't'"), PacketBuilder.Properties("02 00 00 00 09 23 00 02 0B 01"));

        PublishPacket packet = Decode(bytes, ProtocolVersion.V500);
        Span<byte> destination = stackalloc byte[4];
        destination.Fill(0xEE);
        PacketDecoder.CopyForwardableProperties(packet.Properties, destination);

        Assert.That(packet.Properties.ForwardableLength, Is.Zero);
        Assert.That(destination.ToArray(), Is.All.EqualTo(0xEE));
    }

    [Test]
    public void GetProperties_AllPublishProperties_DecodesEveryFieldInOrder()
    {
        PublishPacket packet = Decode(PacketVectors.PublishV500Properties.Bytes, ProtocolVersion.V500);

        MqttProperties? properties = PacketDecoder.GetProperties(packet.Properties);

        var expected = new MqttProperties
        {
            PayloadFormatIndicator = 1,
            MessageExpiryInterval = 60,
            ContentType = "text",
            ResponseTopic = "r/t",
            CorrelationData = [1, 2],
            SubscriptionIdentifiers = [1, 128],
            TopicAlias = 5,
            UserProperties = [new("k", "1"), new("k", "2")],
        };
        Assert.That(PacketDump.Of(properties), Is.EqualTo(PacketDump.Of(expected)));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public void GetProperties_NoProperties_ReturnsNullAndNoSubscriptionIds(ProtocolVersion version)
    {
        byte[] bytes = version == ProtocolVersion.V500 ? PacketVectors.PublishV500.Bytes : PacketVectors.PublishV311.Bytes;

        PublishPacket packet = Decode(bytes, version);

        Assert.That(PacketDecoder.GetProperties(packet.Properties), Is.Null);
        Assert.That(PacketDecoder.GetSubscriptionIdentifiers(packet.Properties), Is.Empty);
        Assert.That(packet.Properties.ForwardableLength, Is.Zero);
        Assert.That(packet.Properties.HasMessageExpiry, Is.False);
        Assert.That(packet.Properties.HasTopicAlias, Is.False);
    }

    [Test]
    public void DecodePublish_EmptyTopicWithTopicAlias_IsLeftToTheBroker()
    {
        // 5.0 §3.3.2.1: a zero-length topic name is how a Topic Alias is used; checking that one is present is the broker's job.
        byte[] bytes = PacketBuilder.Frame(0x30, "00 00 03 23 00 07");

        PublishPacket packet = Decode(bytes, ProtocolVersion.V500);

        Assert.That(packet.TopicName.IsEmpty, Is.True);
        Assert.That(packet.Payload.IsEmpty, Is.True);
        Assert.That(packet.Properties.TopicAlias, Is.EqualTo(7));
    }

    [Test]
    public void DecodePublish_TopicAliasZero_IsReportedNotRejected()
    {
        // [MQTT-3.3.2-8] alias 0 is a protocol error the broker answers with 0x94 Topic Alias invalid, so the decoder reports it.
        byte[] bytes = PacketBuilder.Frame(0x30, "00 01 't' 03 23 00 00");

        PublishPacket packet = Decode(bytes, ProtocolVersion.V500);

        Assert.That(packet.Properties.HasTopicAlias, Is.True);
        Assert.That(packet.Properties.TopicAlias, Is.Zero);
    }

    [Test]
    public void DecodePublish_LongTopicSplitAcrossSegments_ValidatesThePooledCopy()
    {
        // A topic over 256 bytes that straddles segments is validated from a pooled copy rather than the stack.
        byte[] topic = [.. Enumerable.Repeat((byte)'a', 400)];
        byte[] valid = PacketBuilder.Frame(0x30, [0x01, 0x90], topic, "x"u8.ToArray());
        byte[] invalid = [.. valid];
        invalid[^2] = 0xFF;

        var packet = (PublishPacket)CodecDriver.DecodeSingle(Sequences.Split(valid, 200), ProtocolVersion.V311, out _);
        var e = Assert.Throws<ProtocolException>(() => CodecDriver.DecodeAll(Sequences.Split(invalid, 200), ProtocolVersion.V311, out _));

        Assert.That(packet.TopicName.ToArray(), Is.EqualTo(topic));
        Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
    }

    [TestCase(0x30, "00 05 'a'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3] topic length beyond the frame
    [TestCase(0x30, "00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3] topic length cut in half
    [TestCase(0x30, "", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-3.3.2-1] the topic name must be present
    [TestCase(0x32, "00 03 'a/b'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.3.2.2 QoS 1 without packet identifier
    [TestCase(0x34, "00 03 'a/b' 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.3.2.2 packet identifier cut in half
    [TestCase(0x32, "00 03 'a/b' 00 00 'x'", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0 on QoS 1
    [TestCase(0x34, "00 03 'a/b' 00 00 'x'", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0 on QoS 2
    [TestCase(0x3A, "00 03 'a/b' 00 00 00 'x'", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 [MQTT-2.2.1-3] packet identifier 0 on QoS 1
    [TestCase(0x30, "00 02 C0 AF", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] overlong encoding of '/'
    [TestCase(0x30, "00 02 C0 80", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] overlong encoding of U+0000
    [TestCase(0x30, "00 04 E0 80 AF 'x'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] three-byte overlong '/'
    [TestCase(0x30, "00 03 ED A0 80", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] surrogate half U+D800
    [TestCase(0x30, "00 03 ED BF BF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] surrogate half U+DFFF
    [TestCase(0x30, "00 06 ED A0 BD ED B8 80", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] CESU-8 surrogate pair
    [TestCase(0x30, "00 03 'a' 00 'b'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-2] U+0000
    [TestCase(0x30, "00 01 00 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-2] U+0000
    [TestCase(0x30, "00 01 FF", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] 0xFF is never UTF-8
    [TestCase(0x30, "00 01 80", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] lone continuation byte
    [TestCase(0x30, "00 02 'a' E2 'x'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] sequence cut by the string end
    [TestCase(0x30, "00 04 F4 90 80 80", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] beyond U+10FFFF
    [TestCase(0x30, "00 01 't'", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.3.2.3.1 property length missing
    [TestCase(0x30, "00 01 't' 05", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.3.2.3.1 property length beyond the frame
    [TestCase(0x30, "00 01 't' 80 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.5-1] property length not minimally encoded
    [TestCase(0x30, "00 01 't' 80", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.5] property length cut by the frame end
    [TestCase(0x30, "00 01 't' 03 02 00 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Message Expiry value cut short
    [TestCase(0x30, "00 01 't' 05 11 00 00 00 0A", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Session Expiry is not a PUBLISH property
    [TestCase(0x30, "00 01 't' 03 21 00 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Receive Maximum is not a PUBLISH property
    [TestCase(0x30, "00 01 't' 05 18 00 00 00 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Will Delay is a will property only
    [TestCase(0x30, "00 01 't' 02 00 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 identifier 0 is not a property
    [TestCase(0x30, "00 01 't' 03 81 02 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 identifier 257 (VBI 81 02) is not a property
    [TestCase(0x30, "00 01 't' 08 A6 02 00 01 'k' 00 01 'v'", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 identifier 294 is not User Property (0x26)
    [TestCase(0x30, "00 01 't' 03 81 00 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.5-1] identifier not minimally encoded
    [TestCase(0x30, "00 01 't' 02 01 02", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.2 Payload Format Indicator is 0 or 1
    [TestCase(0x30, "00 01 't' 04 01 00 01 01", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.2 Payload Format Indicator twice
    [TestCase(0x30, "00 01 't' 0A 02 00 00 00 01 02 00 00 00 01", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.3 Message Expiry twice
    [TestCase(0x30, "00 01 't' 06 23 00 01 23 00 01", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.4 Topic Alias twice
    [TestCase(0x30, "00 01 't' 08 08 00 01 'r' 08 00 01 'r'", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.5 Response Topic twice
    [TestCase(0x30, "00 01 't' 08 09 00 01 01 09 00 01 01", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.6 Correlation Data twice
    [TestCase(0x30, "00 01 't' 08 03 00 01 'a' 03 00 01 'a'", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.9 Content Type twice
    [TestCase(0x30, "00 01 't' 02 0B 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.3.2.3.8 Subscription Identifier 0
    [TestCase(0x30, "00 01 't' 03 0B 80 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.5-1] Subscription Identifier not minimally encoded
    [TestCase(0x30, "00 01 't' 05 03 00 02 C0 AF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] Content Type not UTF-8
    [TestCase(0x30, "00 01 't' 04 08 00 01 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-2] Response Topic holds U+0000
    [TestCase(0x30, "00 01 't' 09 26 00 02 ED A0 00 01 'v'", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] User Property name not UTF-8
    [TestCase(0x30, "00 01 't' 08 26 00 01 'k' 00 01 FF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] User Property value not UTF-8
    [TestCase(0x30, "00 01 't' 05 26 00 01 'k' 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §1.5.7 string pair cut after the name
    [TestCase(0x30, "00 01 't' 04 09 00 05 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.6] Correlation Data beyond the block
    public void DecodePublish_Violation_ThrowsWithReasonCode(int first, string body, ProtocolVersion version, ReasonCode expected)
    {
        byte[] bytes = PacketBuilder.Frame((byte)first, body);

        ProtocolException contiguous = CodecDriver.DecodeFails(bytes, version);
        var segmented = Assert.Throws<ProtocolException>(() => CodecDriver.DecodeAll(Sequences.Segmented(bytes), version, out _));

        Assert.That(contiguous.ReasonCode, Is.EqualTo(expected));
        Assert.That(segmented.ReasonCode, Is.EqualTo(expected), "1-byte segments");
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public void DecodePublish_SteadyState_AllocatesNothing(ProtocolVersion version)
    {
        byte[] bytes = version == ProtocolVersion.V500 ? PacketVectors.PublishV500Properties.Bytes : PacketVectors.PublishV311.Bytes;
        AssertDecodeAllocatesNothing(new ReadOnlySequence<byte>(bytes), version);
    }

    [Test]
    public void DecodePublish_SplitAcrossSegments_AllocatesNothing()
        => AssertDecodeAllocatesNothing(Sequences.Split(PacketVectors.PublishV500Properties.Bytes, 6, 30), ProtocolVersion.V500);

    private static void AssertDecodeAllocatesNothing(ReadOnlySequence<byte> buffer, ProtocolVersion version)
    {
        long checksum = DecodeRepeatedly(buffer, version, 2_000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        checksum += DecodeRepeatedly(buffer, version, 1_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero, "bytes allocated by 1,000 decodes");
        Assert.That(checksum, Is.Positive);
    }

    private static long DecodeRepeatedly(in ReadOnlySequence<byte> buffer, ProtocolVersion version, int iterations)
    {
        Span<byte> forwardable = stackalloc byte[128];
        long checksum = 0;
        for (int i = 0; i < iterations; i++)
        {
            PacketDecoder.TryReadFrame(buffer, CodecDriver.NoLimit, out FixedHeader header);
            PublishPacket packet = PacketDecoder.DecodePublish(header, buffer.Slice(header.HeaderLength, header.RemainingLength), version);
            PacketDecoder.CopyForwardableProperties(packet.Properties, forwardable);
            checksum += packet.TopicName.Length + packet.Payload.Length + packet.PacketIdentifier + packet.Properties.ForwardableLength;
        }

        return checksum;
    }

    private static PublishPacket Decode(byte[] bytes, ProtocolVersion version) => (PublishPacket)CodecDriver.DecodeSingle(bytes, version);
}
