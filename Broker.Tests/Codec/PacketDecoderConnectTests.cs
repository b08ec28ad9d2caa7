using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>CONNECT and CONNACK [MQTT-3.1], [MQTT-3.2]: version detection, flags, payload fields and their violations.</summary>
[TestFixture]
public sealed class PacketDecoderConnectTests
{
    private static IEnumerable<TestCaseData> Vectors => PacketVectors.Cases.Where(c => ((PacketVector)c.Arguments[0]!).Model is ConnectPacket or ConnAckPacket);

    [TestCaseSource(nameof(Vectors))]
    public void Decode_GoldenVector_ReturnsItsFields(PacketVector vector)
    {
        object packet = CodecDriver.DecodeSingle(vector.Bytes, vector.Version);

        Assert.That(CodecDriver.Dump(packet), Is.EqualTo(PacketDump.Of(vector.Model)));
    }

    [Test]
    public void DecodeConnect_V311SpecExample_ReadsFlagsAndPayload()
    {
        var packet = (ConnectPacket)CodecDriver.DecodeSingle(PacketVectors.ConnectV311.Bytes, ProtocolVersion.V311);

        Assert.That(packet.ProtocolName, Is.EqualTo("MQTT"));
        Assert.That(packet.ProtocolVersion, Is.EqualTo(ProtocolVersion.V311));
        Assert.That(packet.CleanStart, Is.True);
        Assert.That(packet.KeepAlive, Is.EqualTo(10));
        Assert.That(packet.ClientId, Is.EqualTo("client"));
        Assert.That(packet.Will, Is.Not.Null);
        Assert.That(packet.Will!.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(packet.Will.Retain, Is.False);
        Assert.That(packet.Will.Topic, Is.EqualTo("w/t"u8.ToArray()));
        Assert.That(packet.Will.Payload, Is.EqualTo("bye"u8.ToArray()));
        Assert.That(packet.UserName, Is.EqualTo("user"));
        Assert.That(packet.Password, Is.EqualTo("pass"u8.ToArray()));
        Assert.That(packet.Properties, Is.Null);
    }

    [Test]
    public void DecodeConnect_V500SpecExample_ReadsSessionExpiry()
    {
        var packet = (ConnectPacket)CodecDriver.DecodeSingle(PacketVectors.ConnectV500.Bytes, ProtocolVersion.V500);

        Assert.That(packet.ProtocolVersion, Is.EqualTo(ProtocolVersion.V500));
        Assert.That(packet.CleanStart, Is.True);
        Assert.That(packet.KeepAlive, Is.EqualTo(10));
        Assert.That(packet.Properties?.SessionExpiryInterval, Is.EqualTo(10));
        Assert.That(packet.Will, Is.Null);
        Assert.That(packet.UserName, Is.EqualTo("user"));
    }

    [Test]
    public void DecodeConnect_V500Will_ReadsWillPropertiesAndRepeatedUserPropertiesInOrder()
    {
        var packet = (ConnectPacket)CodecDriver.DecodeSingle(PacketVectors.ConnectV500Will.Bytes, ProtocolVersion.V500);

        Assert.That(packet.Properties!.UserProperties, Is.EqualTo(new UserProperty[] { new("a", "1"), new("a", "2") }));
        Assert.That(packet.Will!.QoS, Is.EqualTo(QualityOfService.ExactlyOnce));
        Assert.That(packet.Will.Retain, Is.True);
        Assert.That(packet.Will.Properties!.WillDelayInterval, Is.EqualTo(5));
        Assert.That(packet.Will.Properties.PayloadFormatIndicator, Is.EqualTo(1));
        Assert.That(packet.Will.Properties.CorrelationData, Is.EqualTo(new byte[] { 0xAB, 0xCD }));
    }

    [TestCase("00 06 'MQIsdp' 03 02 00 3C 00 02 'c3'", ProtocolVersion.V310, "MQIsdp")]
    [TestCase("00 04 'MQTT' 04 02 00 3C 00 02 'c3'", ProtocolVersion.V311, "MQTT")]
    [TestCase("00 04 'MQTT' 05 02 00 3C 00 00 02 'c3'", ProtocolVersion.V500, "MQTT")]
    public void DecodeConnect_ProtocolNameAndLevel_SelectTheVersion(string body, ProtocolVersion version, string name)
    {
        ConnectPacket packet = PacketDecoder.DecodeConnect(new(Hex.Parse(body)));

        Assert.That(packet.ProtocolVersion, Is.EqualTo(version));
        Assert.That(packet.ProtocolName, Is.EqualTo(name));
        Assert.That(packet.ClientId, Is.EqualTo("c3"));
    }

    [Test]
    public void DecodeConnect_V500PasswordWithoutUserName_IsAllowed()
    {
        // 5.0 §3.1.2.9 dropped the 3.1.1 rule [MQTT-3.1.2-22]: a password may come without a user name.
        byte[] bytes = PacketBuilder.Frame(0x10, "00 04 'MQTT' 05 42 00 0A 00 00 01 'c' 00 02 01 02");

        var packet = (ConnectPacket)CodecDriver.DecodeSingle(bytes, ProtocolVersion.V500);

        Assert.That(packet.UserName, Is.Null);
        Assert.That(packet.Password, Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public void DecodeConnect_EmptyClientIdAndEmptyWillPayload_AreAllowed()
    {
        // [MQTT-3.1.3-6] a zero-byte client id is allowed (the server may assign one); a will message may be empty.
        byte[] bytes = PacketBuilder.Frame(0x10, "00 04 'MQTT' 04 06 00 00 00 00 00 01 't' 00 00");

        var packet = (ConnectPacket)CodecDriver.DecodeSingle(bytes, ProtocolVersion.V311);

        Assert.That(packet.ClientId, Is.Empty);
        Assert.That(packet.CleanStart, Is.True);
        Assert.That(packet.KeepAlive, Is.Zero);
        Assert.That(packet.Will!.Payload, Is.Empty);
        Assert.That(packet.Will.QoS, Is.EqualTo(QualityOfService.AtMostOnce));
    }

    [Test]
    public void DecodeConnect_MultiByteUtf8ClientId_IsKept()
    {
        byte[] bytes = PacketBuilder.Frame(0x10, [.. Hex.Parse("00 04 'MQTT' 04 00 00 0A 00 08"), .. "día-☃"u8]);

        var packet = (ConnectPacket)CodecDriver.DecodeSingle(bytes, ProtocolVersion.V311);

        Assert.That(packet.ClientId, Is.EqualTo("día-☃"));
        Assert.That(packet.CleanStart, Is.False);
    }

    [TestCase("00 04 'MQTT' 04 03 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-3] reserved flag must be 0
    [TestCase("00 04 'MQTT' 05 03 00 0A 00 00 01 'c'", ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.1.2-3] reserved flag
    [TestCase("00 06 'MQIsdp' 03 01 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // 3.1 reserved flag (bit 0 unused)
    [TestCase("00 04 'MQTT' 04 1E 00 0A 00 01 'c' 00 01 't' 00 01 'm'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-14] will QoS 3
    [TestCase("00 04 'MQTT' 05 3E 00 0A 00 00 01 'c' 00 00 01 't' 00 01 'm'", ReasonCode.MalformedPacket)] // 5.0 §3.1.2.6 will QoS 3 is malformed
    [TestCase("00 04 'MQTT' 04 0A 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-13] will QoS 1 without the will flag
    [TestCase("00 04 'MQTT' 04 12 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-13] will QoS 2 without the will flag
    [TestCase("00 04 'MQTT' 04 1A 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-11] will QoS 3 without the will flag
    [TestCase("00 04 'MQTT' 04 22 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-15] will retain without the will flag
    [TestCase("00 04 'MQTT' 05 22 00 0A 00 00 01 'c'", ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.1.2-13] will retain without the will flag
    [TestCase("00 04 'MQTT' 04 42 00 0A 00 01 'c' 00 01 'p'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-22] password without user name (3.1.1)
    [TestCase("00 04 'MQTT' 04 82 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-19] user name flag but no user name
    [TestCase("00 04 'MQTT' 05 40 00 0A 00 00 01 'c'", ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.1.2-21] password flag but no password
    [TestCase("00 04 'MQTT' 04 C2 00 0A 00 01 'c' 00 01 'u' 00 05 'p'", ReasonCode.MalformedPacket)] // [MQTT-1.5.6] password length beyond the frame
    [TestCase("00 04 'MQTT' 04 06 00 0A 00 01 'c' 00 01 't'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-9] will flag but no will message
    [TestCase("00 04 'MQTT' 04 06 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-3.1.2-9] will flag but no will topic
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 01 'c' FF", ReasonCode.MalformedPacket)] // §3.1.3: the payload is exactly the fields the flags announce
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 01 'c' 00 01 'u'", ReasonCode.MalformedPacket)] // §3.1.3: a user name the flags do not announce
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 05 'c'", ReasonCode.MalformedPacket)] // [MQTT-1.5.3] client id length beyond the frame
    [TestCase("00 04 'MQTT' 04 02 00 0A 00", ReasonCode.MalformedPacket)] // [MQTT-1.5.3] client id length cut in half
    [TestCase("00 04 'MQTT' 04 02 00 0A", ReasonCode.MalformedPacket)] // [MQTT-3.1.3-3] the client id must be present
    [TestCase("00 04 'MQTT' 04 02 00", ReasonCode.MalformedPacket)] // §3.1.2.10 keep alive is two bytes
    [TestCase("00 04 'MQTT' 04", ReasonCode.MalformedPacket)] // §3.1.2.3 the connect flags byte is missing
    [TestCase("00 04 'MQ'", ReasonCode.MalformedPacket)] // [MQTT-1.5.3] protocol name length beyond the frame
    [TestCase("00 04 'MQTT' 05 02 00 0A", ReasonCode.MalformedPacket)] // 5.0 §3.1.2.11.1 the property length is missing
    [TestCase("00 04 'MQTT' 05 02 00 0A 09 11 00 00 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // 5.0 §3.1.2.11.1 property length beyond the frame
    [TestCase("00 04 'MQTT' 05 02 00 0A 80 00 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-1.5.5-1] property length not minimally encoded
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 02 C0 AF", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] client id: overlong encoding of '/'
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 03 ED A0 80", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] client id: surrogate half U+D800
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 03 'a' 00 'b'", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-2] client id: U+0000
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 02 'a' E2", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] client id: truncated sequence
    [TestCase("00 04 'MQTT' 04 02 00 0A 00 04 F4 90 80 80", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] client id: beyond U+10FFFF
    [TestCase("00 04 'MQTT' 04 06 00 0A 00 01 'c' 00 02 C0 80 00 00", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] will topic: overlong U+0000
    [TestCase("00 04 'MQTT' 04 82 00 0A 00 01 'c' 00 01 FF", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] user name: 0xFF is never UTF-8
    [TestCase("00 04 'MQT' FF 04 02 00 0A 00 01 'c'", ReasonCode.MalformedPacket)] // [MQTT-1.5.3-1] protocol name is not UTF-8
    [TestCase("00 04 'MQTX' 04 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-1] unknown protocol name
    [TestCase("00 04 'mqtt' 04 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-1] the name is case-sensitive
    [TestCase("00 00 04 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-1] empty protocol name
    [TestCase("00 02 'MQ' 04 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-1] a prefix of "MQTT"
    [TestCase("00 07 'MQIsdpX' 03 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-1] longer than any known name
    [TestCase("00 08 'MQTTMQTT' 04 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-1]
    [TestCase("00 04 'MQTT' 03 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-2] level 3 is only valid as "MQIsdp"
    [TestCase("00 04 'MQTT' 06 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-2] unknown level
    [TestCase("00 04 'MQTT' 00 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // [MQTT-3.1.2-2] level 0
    [TestCase("00 06 'MQIsdp' 04 02 00 0A 00 01 'c'", ReasonCode.UnsupportedProtocolVersion)] // 3.1 §3.1: MQIsdp is level 3 only
    [TestCase("00 04 'MQTT' 05 02 00 0A 0A 11 00 00 00 0A 11 00 00 00 0B 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.2 Session Expiry Interval twice
    [TestCase("00 04 'MQTT' 05 02 00 0A 06 21 00 01 21 00 02 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.3 Receive Maximum twice
    [TestCase("00 04 'MQTT' 05 02 00 0A 03 21 00 00 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.3 Receive Maximum 0
    [TestCase("00 04 'MQTT' 05 02 00 0A 05 27 00 00 00 00 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.4 Maximum Packet Size 0
    [TestCase("00 04 'MQTT' 05 02 00 0A 02 19 02 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.6 Request Response Information 2
    [TestCase("00 04 'MQTT' 05 02 00 0A 02 17 02 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.7 Request Problem Information 2
    [TestCase("00 04 'MQTT' 05 02 00 0A 08 15 00 01 'a' 15 00 01 'b' 00 01 'c'", ReasonCode.ProtocolError)] // 5.0 §3.1.2.11.9 Authentication Method twice
    [TestCase("00 04 'MQTT' 05 02 00 0A 03 23 00 01 00 01 'c'", ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Topic Alias is not a CONNECT property
    [TestCase("00 04 'MQTT' 05 02 00 0A 05 18 00 00 00 01 00 01 'c'", ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Will Delay Interval belongs in the will properties
    [TestCase("00 04 'MQTT' 05 06 00 0A 00 00 01 'c' 05 11 00 00 00 01 00 01 't' 00 00", ReasonCode.MalformedPacket)] // 5.0 §3.1.3.2 Session Expiry is not a will property
    [TestCase("00 04 'MQTT' 05 06 00 0A 00 00 01 'c' 03 23 00 01 00 01 't' 00 00", ReasonCode.MalformedPacket)] // 5.0 §3.1.3.2 Topic Alias is not a will property
    [TestCase("00 04 'MQTT' 05 06 00 0A 00 00 01 'c' 02 01 02 00 01 't' 00 00", ReasonCode.ProtocolError)] // 5.0 §3.1.3.2.3 will Payload Format Indicator 2
    [TestCase("00 04 'MQTT' 05 06 00 0A 00 00 01 'c' 0A 18 00 00 00 01 18 00 00 00 02 00 01 't' 00 00", ReasonCode.ProtocolError)] // 5.0 §3.1.3.2.2 Will Delay Interval twice
    [TestCase("00 04 'MQTT' 05 06 00 0A 00 00 01 'c' 00 00 01 't'", ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.1.2-9] will payload missing
    [TestCase("00 04 'MQTT' 05 06 00 0A 00 00 01 'c' 04 03 00 02 C0 00 01 't' 00 00", ReasonCode.MalformedPacket)] // [MQTT-1.5.4-1] will Content Type not UTF-8
    public void DecodeConnect_Violation_ThrowsWithReasonCode(string body, ReasonCode expected)
    {
        byte[] bytes = PacketBuilder.Frame(0x10, body);

        ProtocolException contiguous = CodecDriver.DecodeFails(bytes, ProtocolVersion.V500);
        var segmented = Assert.Throws<ProtocolException>(() => CodecDriver.DecodeAll(Sequences.Segmented(bytes), ProtocolVersion.V500, out _));

        Assert.That(contiguous.ReasonCode, Is.EqualTo(expected));
        Assert.That(segmented.ReasonCode, Is.EqualTo(expected), "1-byte segments");
    }

    [TestCase(0, ReasonCode.Success)]
    [TestCase(1, ReasonCode.UnsupportedProtocolVersion)]
    [TestCase(2, ReasonCode.ClientIdentifierNotValid)]
    [TestCase(3, ReasonCode.ServerUnavailable)]
    [TestCase(4, ReasonCode.BadUserNameOrPassword)]
    [TestCase(5, ReasonCode.NotAuthorized)]
    [TestCase(6, ReasonCode.UnspecifiedError)] // 3.1.1 §3.2.2.3: 6-255 reserved
    public void DecodeConnAck_V311ReturnCode_MapsToReasonCode(int returnCode, ReasonCode expected)
    {
        ConnAckPacket packet = PacketDecoder.DecodeConnAck(new([0x00, (byte)returnCode]), ProtocolVersion.V311);

        Assert.That(packet.ReturnCode, Is.EqualTo(returnCode));
        Assert.That(packet.ReasonCode, Is.EqualTo(expected));
        Assert.That(packet.SessionPresent, Is.False);
    }

    [Test]
    public void DecodeConnAck_V500AllProperties_ReadsEveryField()
    {
        var packet = (ConnAckPacket)CodecDriver.DecodeSingle(PacketVectors.ConnAckV500Properties.Bytes, ProtocolVersion.V500);

        MqttProperties p = packet.Properties!;
        Assert.That(p.AssignedClientIdentifier, Is.EqualTo("abc"));
        Assert.That(p.ServerKeepAlive, Is.EqualTo(30));
        Assert.That(p.MaximumQoS, Is.EqualTo(1));
        Assert.That(p.RetainAvailable, Is.Zero);
        Assert.That(p.MaximumPacketSize, Is.EqualTo(65_536));
        Assert.That(p.SharedSubscriptionAvailable, Is.EqualTo(1));
    }

    [TestCase("02 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // [MQTT-3.2.2-1] bits 7-1 of the acknowledge flags are reserved
    [TestCase("80 00 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 [MQTT-3.2.2-1]
    [TestCase("00 00 00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.2.1 remaining length is 2
    [TestCase("00", ProtocolVersion.V311, ReasonCode.MalformedPacket)] // 3.1.1 §3.2.2.3 the return code is missing
    [TestCase("00 00", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.2.2.3.1 the property length is missing
    [TestCase("00 00 00 FF", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §3.2.2: bytes after the properties
    [TestCase("00 00 02 24 02", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.4 Maximum QoS 2
    [TestCase("00 00 02 25 02", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.5 Retain Available 2
    [TestCase("00 00 02 28 02", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.11 Wildcard Subscription Available 2
    [TestCase("00 00 02 29 05", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.12 Subscription Identifiers Available 5
    [TestCase("00 00 02 2A FF", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.13 Shared Subscription Available 255
    [TestCase("00 00 03 21 00 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.3 Receive Maximum 0
    [TestCase("00 00 05 27 00 00 00 00", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.6 Maximum Packet Size 0
    [TestCase("00 00 06 13 00 01 13 00 02", ProtocolVersion.V500, ReasonCode.ProtocolError)] // 5.0 §3.2.2.3.14 Server Keep Alive twice
    [TestCase("00 00 02 17 01", ProtocolVersion.V500, ReasonCode.MalformedPacket)] // 5.0 §2.2.2.2 Request Problem Information is not a CONNACK property
    public void DecodeConnAck_Violation_ThrowsWithReasonCode(string body, ProtocolVersion version, ReasonCode expected)
    {
        ProtocolException e = CodecDriver.DecodeFails(PacketBuilder.Frame(0x20, body), version);

        Assert.That(e.ReasonCode, Is.EqualTo(expected));
    }
}
