using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>
/// PUBACK/PUBREC/PUBREL/PUBCOMP, SUBSCRIBE/SUBACK, UNSUBSCRIBE/UNSUBACK, PINGREQ/PINGRESP, DISCONNECT and AUTH
/// [MQTT-3.4] to [MQTT-3.15].
/// </summary>
[TestFixture]
public sealed class PacketDecoderControlTests
{
    private static IEnumerable<TestCaseData> Vectors => PacketVectors.Cases.Where(c => ((PacketVector)c.Arguments[0]!).Model is not (ConnectPacket or ConnAckPacket or PublishModel));

    [TestCaseSource(nameof(Vectors))]
    public void Decode_GoldenVector_ReturnsItsFields(PacketVector vector)
    {
        object packet = CodecDriver.DecodeSingle(vector.Bytes, vector.Version);

        Assert.That(CodecDriver.Dump(packet), Is.EqualTo(PacketDump.Of(vector.Model)));
    }

    [TestCase("40 02 00 0A", PacketType.PubAck)]
    [TestCase("50 02 00 0A", PacketType.PubRec)]
    [TestCase("62 02 00 0A", PacketType.PubRel)]
    [TestCase("70 02 00 0A", PacketType.PubComp)]
    public void DecodePublishAck_V311_ReadsTypeAndPacketIdentifier(string bytes, PacketType type)
    {
        var packet = (PublishAckPacket)CodecDriver.DecodeSingle(Hex.Parse(bytes), ProtocolVersion.V311);

        Assert.That(packet.Type, Is.EqualTo(type));
        Assert.That(packet.PacketIdentifier, Is.EqualTo(10));
        Assert.That(packet.ReasonCode, Is.EqualTo(ReasonCode.Success));
        Assert.That(packet.Properties, Is.Null);
    }

    [TestCase("40 02 00 0A", ReasonCode.Success)]               // 5.0 §3.4.2.1 remaining length 2: Success
    [TestCase("40 03 00 0A 10", ReasonCode.NoMatchingSubscribers)] // remaining length 3: no property length
    [TestCase("40 04 00 0A 97 00", ReasonCode.QuotaExceeded)]   // an empty property block
    [TestCase("62 03 00 0A 92", ReasonCode.PacketIdentifierNotFound)]
    public void DecodePublishAck_V500ShortForms_ReadReasonCode(string bytes, ReasonCode expected)
    {
        var packet = (PublishAckPacket)CodecDriver.DecodeSingle(Hex.Parse(bytes), ProtocolVersion.V500);

        Assert.That(packet.ReasonCode, Is.EqualTo(expected));
        Assert.That(packet.Properties, Is.Null);
        Assert.That(packet.PacketIdentifier, Is.EqualTo(10));
    }

    [Test]
    public void DecodeSubscribe_V500EveryOptionCombination_ReadsEachBit()
    {
        // 5.0 §3.8.3.1: bits 0-1 Maximum QoS, 2 No Local, 3 Retain As Published, 4-5 Retain Handling, 6-7 reserved.
        var expected = new List<TopicSubscription>();
        var payload = new List<byte>();
        for (int rh = 0; rh < 3; rh++)
        {
            for (int flags = 0; flags < 4; flags++)
            {
                for (int qos = 0; qos < 3; qos++)
                {
                    string filter = $"f/{rh}{flags}{qos}";
                    payload.AddRange([0, (byte)filter.Length, .. System.Text.Encoding.ASCII.GetBytes(filter), (byte)(qos | (flags << 2) | (rh << 4))]);
                    expected.Add(new TopicSubscription(filter, (QualityOfService)qos, (flags & 1) != 0, (flags & 2) != 0, (RetainHandling)rh));
                }
            }
        }

        byte[] bytes = PacketBuilder.Frame(0x82, Hex.Parse("00 0A 00"), [.. payload]);
        var packet = (SubscribePacket)CodecDriver.DecodeSingle(bytes, ProtocolVersion.V500);

        Assert.That(packet.Subscriptions, Is.EqualTo(expected));
    }

    [TestCase(ProtocolVersion.V310)]
    [TestCase(ProtocolVersion.V311)]
    public void DecodeSubscribe_V3_ReadsRequestedQoSAndNoV5Options(ProtocolVersion version)
    {
        byte[] bytes = PacketBuilder.Frame(0x82, "00 0A 00 01 'a' 00 00 01 'b' 01 00 01 'c' 02");

        var packet = (SubscribePacket)CodecDriver.DecodeSingle(bytes, version);

        Assert.That(packet.Subscriptions.Select(s => s.QoS), Is.EqualTo(new[] { QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce, QualityOfService.ExactlyOnce }));
        Assert.That(packet.Subscriptions.Select(s => (s.NoLocal, s.RetainAsPublished, s.RetainHandling)), Is.All.EqualTo((false, false, RetainHandling.SendOnSubscribe)));
        Assert.That(packet.Properties, Is.Null);
    }

    [Test]
    public void DecodeSubAck_V311Failure_IsReadAs0x80()
    {
        var packet = (SubAckPacket)CodecDriver.DecodeSingle(PacketVectors.SubAckV311.Bytes, ProtocolVersion.V311);

        Assert.That(packet.ReasonCodes.Select(c => (byte)c), Is.EqualTo(new byte[] { 0x00, 0x01, 0x02, 0x80 }));
    }

    [TestCase("E0 00", ReasonCode.NormalDisconnection)] // 5.0 §3.14.2.1 remaining length 0
    [TestCase("E0 01 8E", ReasonCode.SessionTakenOver)] // remaining length 1: no property length
    [TestCase("E0 02 04 00", ReasonCode.DisconnectWithWillMessage)]
    public void DecodeDisconnect_V500ShortForms_ReadReasonCode(string bytes, ReasonCode expected)
    {
        var packet = (DisconnectPacket)CodecDriver.DecodeSingle(Hex.Parse(bytes), ProtocolVersion.V500);

        Assert.That(packet.ReasonCode, Is.EqualTo(expected));
        Assert.That(packet.Properties, Is.Null);
    }

    [TestCase("F0 00", ReasonCode.Success)] // 5.0 §3.15.2.1 remaining length 0
    [TestCase("F0 01 19", ReasonCode.ReAuthenticate)]
    public void DecodeAuth_V500ShortForms_ReadReasonCode(string bytes, ReasonCode expected)
    {
        var packet = (AuthPacket)CodecDriver.DecodeSingle(Hex.Parse(bytes), ProtocolVersion.V500);

        Assert.That(packet.ReasonCode, Is.EqualTo(expected));
        Assert.That(packet.Properties, Is.Null);
    }

    [TestCase("C0 00", PacketType.PingReq)]
    [TestCase("D0 00", PacketType.PingResp)]
    public void DecodeEmpty_Ping_ReturnsItsType(string bytes, PacketType type)
    {
        object packet = CodecDriver.DecodeSingle(Hex.Parse(bytes), ProtocolVersion.V311);

        Assert.That(packet, Is.EqualTo(type));
    }

    [TestCase("40 02 00 0A", ProtocolVersion.V311)]
    [TestCase("62 02 00 0A", ProtocolVersion.V500)]
    [TestCase("50 03 00 0A 10", ProtocolVersion.V500)]
    public void DecodePublishAck_SteadyState_AllocatesNothing(string bytes, ProtocolVersion version)
    {
        // PUBACK/PUBREC/PUBREL/PUBCOMP are a struct because they are on the QoS 1/2 hot path.
        var buffer = new ReadOnlySequence<byte>(Hex.Parse(bytes));
        long checksum = DecodeAcksRepeatedly(buffer, version, 2_000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        checksum += DecodeAcksRepeatedly(buffer, version, 1_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero, "bytes allocated by 1,000 decodes");
        Assert.That(checksum, Is.EqualTo(3_000L * 10));
    }

    [TestCase(0x40, "00 0A 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.4.1 PUBACK remaining length is 2
    [TestCase(0x50, "00 0A 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.5.1 PUBREC remaining length is 2
    [TestCase(0x62, "00 0A 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.6.1 PUBREL remaining length is 2
    [TestCase(0x70, "00 0A 00", ProtocolVersion.V310, ReasonCode.MalformedPacket)] // 3.1.1 §3.7.1 PUBCOMP remaining length is 2
    [TestCase(0x40, "00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.4.2 packet identifier cut in half
    [TestCase(0x40, "", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.4.2 packet identifier missing
    [TestCase(0x40, "00 00", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0
    [TestCase(0x62, "00 00 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 [MQTT-2.2.1-3] packet identifier 0
    [TestCase(0x40, "00 0A 00 00 FF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.4.2: bytes after the properties
    [TestCase(0x40, "00 0A 00 05", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.4.2.2 property length beyond the frame
    [TestCase(0x50, "00 0A 00 03 23 00 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Topic Alias is not a PUBREC property
    [TestCase(0x70, "00 0A 00 05 11 00 00 00 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Session Expiry is not a PUBCOMP property
    [TestCase(0x40, "00 0A 80 08 1F 00 01 'a' 1F 00 01 'b'", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.4.2.2.2 Reason String twice
    [TestCase(0x62, "00 0A 92 04 1F 00 01 FF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] Reason String not UTF-8
    [TestCase(0x82, "00 0A", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-3.8.3-3] SUBSCRIBE without topic filters
    [TestCase(0x82, "00 0A", ProtocolVersion.V310, ReasonCode.ProtocolError)] // [MQTT-3.8.3-3]
    [TestCase(0x82, "00 0A 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 [MQTT-3.8.3-2] SUBSCRIBE with no payload is a protocol error
    [TestCase(0x82, "00 00 00 01 'a' 00", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0
    [TestCase(0x82, "00 00 00 00 01 'a' 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 [MQTT-2.2.1-3] packet identifier 0
    [TestCase(0x82, "00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.8.2 packet identifier cut in half
    [TestCase(0x82, "00 0A 00 01 'a'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.8.3 the requested QoS byte is missing
    [TestCase(0x82, "00 0A 00 05 'a' 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3] filter length beyond the frame
    [TestCase(0x82, "00 0A 00 01 'a' 00 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3] a second filter cut in its length
    [TestCase(0x82, "00 0A 00 01 'a' 03", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-3.8.3-4] requested QoS 3
    [TestCase(0x82, "00 0A 00 01 'a' 04", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-3.8.3-4] reserved bit 2 (No Local is 5.0 only)
    [TestCase(0x82, "00 0A 00 01 'a' 21", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-3.8.3-4] reserved bit 5
    [TestCase(0x82, "00 0A 00 01 'a' 80", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-3.8.3-4] reserved bit 7
    [TestCase(0x82, "00 0A 00 01 'a' 08", ProtocolVersion.V310, ReasonCode.MalformedPacket)] // 3.1 §3.8: bits 7-2 of the requested QoS byte are reserved
    [TestCase(0x82, "00 0A 00 00 01 'a' 40", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.8.3-5] reserved bit 6
    [TestCase(0x82, "00 0A 00 00 01 'a' 81", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.8.3-5] reserved bit 7
    [TestCase(0x82, "00 0A 00 00 01 'a' 30", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.8.3.1 Retain Handling 3 is a protocol error
    [TestCase(0x82, "00 0A 00 00 01 'a' 3E", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.8.3.1 Retain Handling 3 with the other bits set
    [TestCase(0x82, "00 0A 00 00 01 'a' 03", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.8.3.1 Maximum QoS 3 is a protocol error
    [TestCase(0x82, "00 0A 04 0B 01 0B 02 00 01 'a' 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.8.2.1.2 Subscription Identifier twice
    [TestCase(0x82, "00 0A 02 0B 00 00 01 'a' 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.8.2.1.2 Subscription Identifier 0
    [TestCase(0x82, "00 0A 05 11 00 00 00 01 00 01 'a' 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Session Expiry is not a SUBSCRIBE property
    [TestCase(0x82, "00 0A 09 00 01 'a' 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.8.2.1.1 property length beyond the frame
    [TestCase(0x82, "00 0A 00 00 02 C0 AF 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] filter: overlong '/'
    [TestCase(0x82, "00 0A 00 03 ED A0 80 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] filter: surrogate half
    [TestCase(0x82, "00 0A 00 01 00 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-2] filter: U+0000
    [TestCase(0x90, "00 00 00", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0
    [TestCase(0x90, "00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.9.2 packet identifier cut in half
    [TestCase(0x90, "00 0A 05 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.9.2.1.1 property length beyond the frame
    [TestCase(0x90, "00 0A 03 21 00 01 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Receive Maximum is not a SUBACK property
    [TestCase(0x90, "00 0A 08 1F 00 01 'a' 1F 00 01 'b' 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.9.2.1.2 Reason String twice
    [TestCase(0xA2, "00 0A", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-3.10.3-2] UNSUBSCRIBE without topic filters
    [TestCase(0xA2, "00 0A 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 [MQTT-3.10.3-2] UNSUBSCRIBE with no payload
    [TestCase(0xA2, "00 00 00 01 'a'", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0
    [TestCase(0xA2, "00 0A 00 05 'a'", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3] filter length beyond the frame
    [TestCase(0xA2, "00 0A 00 01 'a' 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3] trailing byte: a length cut in half
    [TestCase(0xA2, "00 0A 00 01 FF", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] filter not UTF-8
    [TestCase(0xA2, "00 0A 00 00 01 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-2] filter: U+0000
    [TestCase(0xA2, "00 0A 02 0B 01 00 01 'a'", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.10.2.1 Subscription Identifier is not an UNSUBSCRIBE property
    [TestCase(0xB0, "00 0A 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.11.1 UNSUBACK remaining length is 2
    [TestCase(0xB0, "00 0A 00 00 11", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.11.3 UNSUBACK has no payload
    [TestCase(0xB0, "00 00", ProtocolVersion.V311, ReasonCode.ProtocolError)] // [MQTT-2.3.1-1] packet identifier 0
    [TestCase(0xB0, "00 0A", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.11.2.1.1 the property length is missing
    [TestCase(0xB0, "00 0A 03 13 00 01 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Server Keep Alive is not an UNSUBACK property
    [TestCase(0xC0, "00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.12.2 PINGREQ has no variable header
    [TestCase(0xD0, "00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.13.2 PINGRESP has no variable header
    [TestCase(0xE0, "00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.14.2 DISCONNECT has no variable header
    [TestCase(0xE0, "8E", ProtocolVersion.V310, ReasonCode.MalformedPacket)] // 3.1 DISCONNECT has no variable header
    [TestCase(0xE0, "00 00 FF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.14.2: bytes after the properties
    [TestCase(0xE0, "00 05", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.14.2.2.1 property length beyond the frame
    [TestCase(0xE0, "00 05 02 00 00 00 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Message Expiry is not a DISCONNECT property
    [TestCase(0xE0, "00 0A 11 00 00 00 01 11 00 00 00 02", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.14.2.2.2 Session Expiry Interval twice
    [TestCase(0xE0, "00 04 1F 00 01 80", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] Reason String not UTF-8
    [TestCase(0xF0, "", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §2.2.1 Table 2.1: packet type 15 is reserved
    [TestCase(0xF0, "18 00", ProtocolVersion.V310, ReasonCode.MalformedPacket)] // 3.1: packet type 15 is reserved
    [TestCase(0xF0, "18 00 FF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.15.2: bytes after the properties
    [TestCase(0xF0, "18 05", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.15.2.2.1 property length beyond the frame
    [TestCase(0xF0, "18 08 15 00 01 'a' 15 00 01 'b'", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.15.2.2.2 Authentication Method twice
    [TestCase(0xF0, "18 05 11 00 00 00 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Session Expiry is not an AUTH property
    public void Decode_Violation_ThrowsWithReasonCode(int first, string body, ProtocolVersion version, ReasonCode expected)
    {
        byte[] bytes = PacketBuilder.Frame((byte)first, body);

        ProtocolException contiguous = CodecDriver.DecodeFails(bytes, version);
        var segmented = Assert.Throws<ProtocolException>(() => CodecDriver.DecodeAll(Sequences.Segmented(bytes), version, out _));

        Assert.That(contiguous.ReasonCode, Is.EqualTo(expected));
        Assert.That(segmented.ReasonCode, Is.EqualTo(expected), "1-byte segments");
    }

    private static long DecodeAcksRepeatedly(in ReadOnlySequence<byte> buffer, ProtocolVersion version, int iterations)
    {
        long checksum = 0;
        for (int i = 0; i < iterations; i++)
        {
            PacketDecoder.TryReadFrame(buffer, CodecDriver.NoLimit, out FixedHeader header);
            PublishAckPacket packet = PacketDecoder.DecodePublishAck(header, buffer.Slice(header.HeaderLength, header.RemainingLength), version);
            checksum += packet.PacketIdentifier;
        }

        return checksum;
    }
}
