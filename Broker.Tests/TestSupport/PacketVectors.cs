using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Tests.TestSupport;

/// <summary>
/// A valid packet, byte-exact, and the model that encodes to exactly those bytes and that the decoder must return.
/// </summary>
public sealed record PacketVector(string Name, ProtocolVersion Version, byte[] Bytes, object Model)
{
    public override string ToString() => Name;
}

/// <summary>
/// Golden vectors. Where the spec gives an example its bytes are used verbatim (cited per vector); the rest
/// complete those examples into whole packets or put every field and property on the wire once. Properties are
/// listed in the order <c>PropertiesWriter</c> emits them (identifier order, user properties last), so each vector
/// is also the exact encoder output.
/// </summary>
public static class PacketVectors
{
    /// <summary>Variable byte integer table [MQTT-1.5.5] (3.1.1 Table 2.4 / 5.0 Table 1-1): the edges of each length.</summary>
    public static readonly (int Value, string Bytes)[] VariableByteIntegers =
    [
        (0, "00"),
        (127, "7F"),
        (128, "80 01"),
        (16_383, "FF 7F"),
        (16_384, "80 80 01"),
        (2_097_151, "FF FF 7F"),
        (2_097_152, "80 80 80 01"),
        (268_435_455, "FF FF FF 7F"),
    ];

    // 3.1.1 §3.1.2.10 non-normative variable header example: 00 04 'MQTT' 04 CE 00 0A
    // (user name, password, will QoS 1, will, clean session; keep alive 10), completed with its payload.
    public static readonly PacketVector ConnectV311 = new(
        "CONNECT 3.1.1 (spec example)",
        ProtocolVersion.V311,
        Hex.Parse("10 28 00 04 'MQTT' 04 CE 00 0A 00 06 'client' 00 03 'w/t' 00 03 'bye' 00 04 'user' 00 04 'pass'"),
        new ConnectPacket
        {
            ProtocolName = "MQTT",
            ProtocolVersion = ProtocolVersion.V311,
            CleanStart = true,
            KeepAlive = 10,
            ClientId = "client",
            Will = new WillMessage { Topic = "w/t"u8.ToArray(), Payload = "bye"u8.ToArray(), QoS = QualityOfService.AtLeastOnce },
            UserName = "user",
            Password = "pass"u8.ToArray(),
        });

    // MQTT 3.1: protocol name "MQIsdp", level 3.
    public static readonly PacketVector ConnectV310 = new(
        "CONNECT 3.1 (MQIsdp)",
        ProtocolVersion.V310,
        Hex.Parse("10 10 00 06 'MQIsdp' 03 02 00 3C 00 02 'c3'"),
        new ConnectPacket { ProtocolName = "MQIsdp", ProtocolVersion = ProtocolVersion.V310, CleanStart = true, KeepAlive = 60, ClientId = "c3" });

    // 5.0 §3.1.2 non-normative CONNECT variable header example: 00 04 'MQTT' 05 C2 00 0A 05 11 00 00 00 0A
    // (user name, password, clean start; keep alive 10; Session Expiry Interval 10), completed with its payload.
    public static readonly PacketVector ConnectV500 = new(
        "CONNECT 5.0 (spec variable header example)",
        ProtocolVersion.V500,
        Hex.Parse("10 24 00 04 'MQTT' 05 C2 00 0A 05 11 00 00 00 0A 00 06 'client' 00 04 'user' 00 04 'pass'"),
        new ConnectPacket
        {
            ProtocolVersion = ProtocolVersion.V500,
            CleanStart = true,
            KeepAlive = 10,
            Properties = new MqttProperties { SessionExpiryInterval = 10 },
            ClientId = "client",
            UserName = "user",
            Password = "pass"u8.ToArray(),
        });

    // Every CONNECT property and every will property, user properties with a repeated name (order kept).
    public static readonly PacketVector ConnectV500Will = new(
        "CONNECT 5.0 with will and all properties",
        ProtocolVersion.V500,
        Hex.Parse(
            "10 6F 00 04 'MQTT' 05 36 00 3C "
            + "2F 11 00 00 01 2C 15 00 05 'SCRAM' 16 00 02 01 02 17 00 19 01 21 00 14 22 00 0A 27 00 00 10 00 "
            + "26 00 01 'a' 00 01 '1' 26 00 01 'a' 00 01 '2' "
            + "00 03 'dev' "
            + "25 01 01 02 00 00 00 78 03 00 04 'text' 08 00 03 'r/t' 09 00 02 AB CD 18 00 00 00 05 26 00 01 'k' 00 01 'v' "
            + "00 03 'w/t' 00 03 'bye'"),
        new ConnectPacket
        {
            ProtocolVersion = ProtocolVersion.V500,
            CleanStart = true,
            KeepAlive = 60,
            Properties = new MqttProperties
            {
                SessionExpiryInterval = 300,
                AuthenticationMethod = "SCRAM",
                AuthenticationData = [1, 2],
                RequestProblemInformation = 0,
                RequestResponseInformation = 1,
                ReceiveMaximum = 20,
                TopicAliasMaximum = 10,
                MaximumPacketSize = 4096,
                UserProperties = [new("a", "1"), new("a", "2")],
            },
            ClientId = "dev",
            Will = new WillMessage
            {
                Topic = "w/t"u8.ToArray(),
                Payload = "bye"u8.ToArray(),
                QoS = QualityOfService.ExactlyOnce,
                Retain = true,
                Properties = new MqttProperties
                {
                    PayloadFormatIndicator = 1,
                    MessageExpiryInterval = 120,
                    ContentType = "text",
                    ResponseTopic = "r/t",
                    CorrelationData = [0xAB, 0xCD],
                    WillDelayInterval = 5,
                    UserProperties = [new("k", "v")],
                },
            },
        });

    public static readonly PacketVector ConnAckV311 = new(
        "CONNACK 3.1.1 session present",
        ProtocolVersion.V311,
        Hex.Parse("20 02 01 00"),
        new ConnAckPacket { SessionPresent = true, ReasonCode = ReasonCode.Success, ReturnCode = 0 });

    // 3.1.1 §3.2.2.3 Table 3.1: return code 5, not authorized.
    public static readonly PacketVector ConnAckV311Refused = new(
        "CONNACK 3.1.1 not authorized",
        ProtocolVersion.V311,
        Hex.Parse("20 02 00 05"),
        new ConnAckPacket { ReasonCode = ReasonCode.NotAuthorized, ReturnCode = 5 });

    public static readonly PacketVector ConnAckV500 = new(
        "CONNACK 5.0 success",
        ProtocolVersion.V500,
        Hex.Parse("20 03 00 00 00"),
        new ConnAckPacket { ReasonCode = ReasonCode.Success, ReturnCode = 0 });

    // Every CONNACK property.
    public static readonly PacketVector ConnAckV500Properties = new(
        "CONNACK 5.0 with all properties",
        ProtocolVersion.V500,
        Hex.Parse(
            "20 42 00 00 3F 11 00 00 00 0A 12 00 03 'abc' 13 00 1E 15 00 01 'm' 16 00 01 07 1A 00 01 'i' 1C 00 01 's' "
            + "1F 00 02 'ok' 21 00 0A 22 00 05 24 01 25 00 27 00 01 00 00 28 01 29 00 2A 01 26 00 01 'x' 00 01 'y'"),
        new ConnAckPacket
        {
            ReasonCode = ReasonCode.Success,
            ReturnCode = 0,
            Properties = new MqttProperties
            {
                SessionExpiryInterval = 10,
                AssignedClientIdentifier = "abc",
                ServerKeepAlive = 30,
                AuthenticationMethod = "m",
                AuthenticationData = [7],
                ResponseInformation = "i",
                ServerReference = "s",
                ReasonString = "ok",
                ReceiveMaximum = 10,
                TopicAliasMaximum = 5,
                MaximumQoS = 1,
                RetainAvailable = 0,
                MaximumPacketSize = 65_536,
                WildcardSubscriptionAvailable = 1,
                SubscriptionIdentifierAvailable = 0,
                SharedSubscriptionAvailable = 1,
                UserProperties = [new("x", "y")],
            },
        });

    // 3.1.1 §3.3.2.3 non-normative variable header example: topic "a/b", packet identifier 10.
    public static readonly PacketVector PublishV311 = new(
        "PUBLISH 3.1.1 QoS 1 (spec example)",
        ProtocolVersion.V311,
        Hex.Parse("32 09 00 03 'a/b' 00 0A 'hi'"),
        new PublishModel { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 10, TopicName = "a/b"u8.ToArray(), Payload = "hi"u8.ToArray() });

    public static readonly PacketVector PublishV311Retain = new(
        "PUBLISH 3.1.1 QoS 0 retain",
        ProtocolVersion.V311,
        Hex.Parse("31 06 00 03 'a/b' 'x'"),
        new PublishModel { Retain = true, TopicName = "a/b"u8.ToArray(), Payload = "x"u8.ToArray() });

    public static readonly PacketVector PublishV311Dup = new(
        "PUBLISH 3.1.1 QoS 2 DUP",
        ProtocolVersion.V311,
        Hex.Parse("3C 08 00 03 'a/b' 00 0B 'z'"),
        new PublishModel { QoS = QualityOfService.ExactlyOnce, Dup = true, PacketIdentifier = 11, TopicName = "a/b"u8.ToArray(), Payload = "z"u8.ToArray() });

    public static readonly PacketVector PublishV310 = new(
        "PUBLISH 3.1 QoS 1",
        ProtocolVersion.V310,
        Hex.Parse("32 09 00 03 'a/b' 00 0A 'hi'"),
        new PublishModel { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 10, TopicName = "a/b"u8.ToArray(), Payload = "hi"u8.ToArray() });

    // 5.0 §3.3.2 non-normative variable header example: topic "a/b", packet identifier 10, no properties.
    public static readonly PacketVector PublishV500 = new(
        "PUBLISH 5.0 QoS 1 (spec example)",
        ProtocolVersion.V500,
        Hex.Parse("32 0A 00 03 'a/b' 00 0A 00 'hi'"),
        new PublishModel { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 10, TopicName = "a/b"u8.ToArray(), Payload = "hi"u8.ToArray() });

    /// <summary>The forwardable properties of <see cref="PublishV500Properties"/>, byte-exact.</summary>
    public static readonly byte[] PublishV500ForwardableProperties =
        Hex.Parse("01 01 03 00 04 'text' 08 00 03 'r/t' 09 00 02 01 02 26 00 01 'k' 00 01 '1' 26 00 01 'k' 00 01 '2'");

    // Every PUBLISH property: expiry, alias and two subscription identifiers (one needing two VBI bytes) first, as
    // the encoder writes them per delivery, then the forwardable ones; user properties repeat a name.
    public static readonly PacketVector PublishV500Properties = new(
        "PUBLISH 5.0 QoS 2 DUP retain with all properties",
        ProtocolVersion.V500,
        Hex.Parse(
            "3D 3C 00 03 'a/b' 00 0B 2F 02 00 00 00 3C 23 00 05 0B 01 0B 80 01 "
            + "01 01 03 00 04 'text' 08 00 03 'r/t' 09 00 02 01 02 26 00 01 'k' 00 01 '1' 26 00 01 'k' 00 01 '2' 'hello'"),
        new PublishModel
        {
            QoS = QualityOfService.ExactlyOnce,
            Dup = true,
            Retain = true,
            PacketIdentifier = 11,
            TopicName = "a/b"u8.ToArray(),
            Payload = "hello"u8.ToArray(),
            HasMessageExpiry = true,
            MessageExpiryInterval = 60,
            TopicAlias = 5,
            SubscriptionIdentifiers = [1, 128],
            Properties = PublishV500ForwardableProperties,
        });

    // A 304-byte remaining length takes two VBI bytes (B0 02), so splits land inside the length field.
    public static readonly PacketVector PublishV500Large = new(
        "PUBLISH 5.0 QoS 0 300-byte payload",
        ProtocolVersion.V500,
        [.. Hex.Parse("30 B0 02 00 01 't' 00"), .. LargePayload()],
        new PublishModel { TopicName = "t"u8.ToArray(), Payload = LargePayload() });

    // 3.1.1 §3.4-§3.7: packet identifier only; PUBREL has fixed header flags 0010 [MQTT-3.6.1-1].
    public static readonly PacketVector PubAckV311 = new("PUBACK 3.1.1", ProtocolVersion.V311, Hex.Parse("40 02 00 0A"), new PublishAckPacket(PacketType.PubAck, 10));

    public static readonly PacketVector PubRecV311 = new("PUBREC 3.1.1", ProtocolVersion.V311, Hex.Parse("50 02 00 0A"), new PublishAckPacket(PacketType.PubRec, 10));

    public static readonly PacketVector PubRelV311 = new("PUBREL 3.1.1", ProtocolVersion.V311, Hex.Parse("62 02 00 0A"), new PublishAckPacket(PacketType.PubRel, 10));

    public static readonly PacketVector PubCompV311 = new("PUBCOMP 3.1.1", ProtocolVersion.V311, Hex.Parse("70 02 00 0A"), new PublishAckPacket(PacketType.PubComp, 10));

    // 5.0 §3.4.2.1: Success without properties may omit reason code and property length (remaining length 2).
    public static readonly PacketVector PubAckV500Short = new("PUBACK 5.0 success, short form", ProtocolVersion.V500, Hex.Parse("40 02 00 0A"), new PublishAckPacket(PacketType.PubAck, 10));

    // 5.0 §3.4.2.1: remaining length 3 means a reason code and no property length.
    public static readonly PacketVector PubAckV500 = new(
        "PUBACK 5.0 no matching subscribers",
        ProtocolVersion.V500,
        Hex.Parse("40 03 00 0A 10"),
        new PublishAckPacket(PacketType.PubAck, 10, ReasonCode.NoMatchingSubscribers));

    public static readonly PacketVector PubRecV500 = new(
        "PUBREC 5.0 with reason string",
        ProtocolVersion.V500,
        Hex.Parse("50 09 00 0A 80 05 1F 00 02 'no'"),
        new PublishAckPacket(PacketType.PubRec, 10, ReasonCode.UnspecifiedError, new MqttProperties { ReasonString = "no" }));

    public static readonly PacketVector PubRelV500 = new(
        "PUBREL 5.0 packet identifier not found",
        ProtocolVersion.V500,
        Hex.Parse("62 03 00 0A 92"),
        new PublishAckPacket(PacketType.PubRel, 10, ReasonCode.PacketIdentifierNotFound));

    public static readonly PacketVector PubCompV500 = new(
        "PUBCOMP 5.0 success with user property",
        ProtocolVersion.V500,
        Hex.Parse("70 0B 00 0A 00 07 26 00 01 'k' 00 01 'v'"),
        new PublishAckPacket(PacketType.PubComp, 10, ReasonCode.Success, new MqttProperties { UserProperties = [new("k", "v")] }));

    // 3.1.1 §3.8.2/§3.8.3 non-normative examples: packet identifier 10, "a/b" QoS 1, "c/d" QoS 2.
    public static readonly PacketVector SubscribeV311 = new(
        "SUBSCRIBE 3.1.1 (spec example)",
        ProtocolVersion.V311,
        Hex.Parse("82 0E 00 0A 00 03 'a/b' 01 00 03 'c/d' 02"),
        new SubscribePacket { PacketIdentifier = 10, Subscriptions = [new("a/b", QualityOfService.AtLeastOnce), new("c/d", QualityOfService.ExactlyOnce)] });

    public static readonly PacketVector SubscribeV310 = new(
        "SUBSCRIBE 3.1",
        ProtocolVersion.V310,
        Hex.Parse("82 0E 00 0A 00 03 'a/b' 01 00 03 'c/d' 02"),
        new SubscribePacket { PacketIdentifier = 10, Subscriptions = [new("a/b", QualityOfService.AtLeastOnce), new("c/d", QualityOfService.ExactlyOnce)] });

    // 5.0 §3.8.3.1 subscription options: bits 0-1 QoS, bit 2 No Local, bit 3 Retain As Published, bits 4-5 Retain
    // Handling. 2D = QoS 1 + No Local + Retain As Published + Retain Handling 2; 12 = QoS 2 + Retain Handling 1.
    public static readonly PacketVector SubscribeV500 = new(
        "SUBSCRIBE 5.0 with options and subscription identifier",
        ProtocolVersion.V500,
        Hex.Parse("82 18 00 0A 09 0B 05 26 00 01 'k' 00 01 'v' 00 03 'a/b' 2D 00 03 'c/d' 12"),
        new SubscribePacket
        {
            PacketIdentifier = 10,
            Properties = new MqttProperties { SubscriptionIdentifiers = [5], UserProperties = [new("k", "v")] },
            Subscriptions =
            [
                new("a/b", QualityOfService.AtLeastOnce, NoLocal: true, RetainAsPublished: true, RetainHandling.DoNotSend),
                new("c/d", QualityOfService.ExactlyOnce, RetainHandling: RetainHandling.SendOnNewSubscribe),
            ],
        });

    // 3.1.1 §3.9.3 non-normative payload example: 0, 1, 2 and the failure code 0x80.
    public static readonly PacketVector SubAckV311 = new(
        "SUBACK 3.1.1 with failure (spec example)",
        ProtocolVersion.V311,
        Hex.Parse("90 06 00 0A 00 01 02 80"),
        new SubAckPacket { PacketIdentifier = 10, ReasonCodes = [ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS2, ReasonCode.UnspecifiedError] });

    public static readonly PacketVector SubAckV500 = new(
        "SUBACK 5.0 with reason string and not authorized",
        ProtocolVersion.V500,
        Hex.Parse("90 0C 00 0A 05 1F 00 02 'ok' 00 01 02 87"),
        new SubAckPacket
        {
            PacketIdentifier = 10,
            Properties = new MqttProperties { ReasonString = "ok" },
            ReasonCodes = [ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS2, ReasonCode.NotAuthorized],
        });

    // 3.1.1 §3.10.3 non-normative payload example: "a/b", "c/d".
    public static readonly PacketVector UnsubscribeV311 = new(
        "UNSUBSCRIBE 3.1.1 (spec example)",
        ProtocolVersion.V311,
        Hex.Parse("A2 0C 00 0A 00 03 'a/b' 00 03 'c/d'"),
        new UnsubscribePacket { PacketIdentifier = 10, TopicFilters = ["a/b", "c/d"] });

    public static readonly PacketVector UnsubscribeV500 = new(
        "UNSUBSCRIBE 5.0 with user property",
        ProtocolVersion.V500,
        Hex.Parse("A2 14 00 0A 07 26 00 01 'k' 00 01 'v' 00 03 'a/b' 00 03 'c/d'"),
        new UnsubscribePacket { PacketIdentifier = 10, Properties = new MqttProperties { UserProperties = [new("k", "v")] }, TopicFilters = ["a/b", "c/d"] });

    public static readonly PacketVector UnsubAckV311 = new("UNSUBACK 3.1.1", ProtocolVersion.V311, Hex.Parse("B0 02 00 0A"), new UnsubAckPacket { PacketIdentifier = 10 });

    public static readonly PacketVector UnsubAckV500 = new(
        "UNSUBACK 5.0",
        ProtocolVersion.V500,
        Hex.Parse("B0 05 00 0A 00 00 11"),
        new UnsubAckPacket { PacketIdentifier = 10, ReasonCodes = [ReasonCode.Success, ReasonCode.NoSubscriptionExisted] });

    // 3.1.1 §3.12, §3.13, §3.14: fixed header only.
    public static readonly PacketVector PingReq = new("PINGREQ", ProtocolVersion.V311, Hex.Parse("C0 00"), PacketType.PingReq);

    public static readonly PacketVector PingResp = new("PINGRESP", ProtocolVersion.V311, Hex.Parse("D0 00"), PacketType.PingResp);

    public static readonly PacketVector DisconnectV311 = new("DISCONNECT 3.1.1", ProtocolVersion.V311, Hex.Parse("E0 00"), new DisconnectPacket());

    // 5.0 §3.14.2.1: remaining length 0 means Normal Disconnection.
    public static readonly PacketVector DisconnectV500Normal = new("DISCONNECT 5.0 normal", ProtocolVersion.V500, Hex.Parse("E0 00"), new DisconnectPacket());

    // 5.0 §3.14.2.1: remaining length 1, reason code only (0x8E Session taken over).
    public static readonly PacketVector DisconnectV500 = new(
        "DISCONNECT 5.0 session taken over",
        ProtocolVersion.V500,
        Hex.Parse("E0 01 8E"),
        new DisconnectPacket { ReasonCode = ReasonCode.SessionTakenOver });

    public static readonly PacketVector DisconnectV500Properties = new(
        "DISCONNECT 5.0 with will and properties",
        ProtocolVersion.V500,
        Hex.Parse("E0 0F 04 0D 11 00 00 00 00 1C 00 05 'other'"),
        new DisconnectPacket { ReasonCode = ReasonCode.DisconnectWithWillMessage, Properties = new MqttProperties { SessionExpiryInterval = 0, ServerReference = "other" } });

    // 5.0 §3.15.2.1: Success without properties may be sent with remaining length 0.
    public static readonly PacketVector AuthV500Empty = new("AUTH 5.0 success, short form", ProtocolVersion.V500, Hex.Parse("F0 00"), new AuthPacket());

    public static readonly PacketVector AuthV500 = new(
        "AUTH 5.0 continue authentication",
        ProtocolVersion.V500,
        Hex.Parse("F0 0F 18 0D 15 00 05 'SCRAM' 16 00 02 01 02"),
        new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, Properties = new MqttProperties { AuthenticationMethod = "SCRAM", AuthenticationData = [1, 2] } });

    public static readonly PacketVector[] All =
    [
        ConnectV311, ConnectV310, ConnectV500, ConnectV500Will,
        ConnAckV311, ConnAckV311Refused, ConnAckV500, ConnAckV500Properties,
        PublishV311, PublishV311Retain, PublishV311Dup, PublishV310, PublishV500, PublishV500Properties, PublishV500Large,
        PubAckV311, PubRecV311, PubRelV311, PubCompV311, PubAckV500Short, PubAckV500, PubRecV500, PubRelV500, PubCompV500,
        SubscribeV311, SubscribeV310, SubscribeV500, SubAckV311, SubAckV500,
        UnsubscribeV311, UnsubscribeV500, UnsubAckV311, UnsubAckV500,
        PingReq, PingResp, DisconnectV311, DisconnectV500Normal, DisconnectV500, DisconnectV500Properties,
        AuthV500Empty, AuthV500,
    ];

    /// <summary><see cref="All"/> as NUnit cases named after the vector.</summary>
    public static IEnumerable<TestCaseData> Cases => All.Select(v => new TestCaseData(v).SetArgDisplayNames(v.Name));

    public static IEnumerable<PacketVector> ForVersion(ProtocolVersion version) => All.Where(v => v.Version == version);

    private static byte[] LargePayload()
    {
        var payload = new byte[300];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 7);
        }

        return payload;
    }
}
