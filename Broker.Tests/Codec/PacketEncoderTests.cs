using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>
/// <see cref="PacketEncoder"/>: golden bytes, a round trip through the decoder for every packet type in 3.1, 3.1.1
/// and 5.0 (with every v5 property), the version mappings, size limits and the allocation-free PUBLISH path.
/// </summary>
[TestFixture]
public sealed class PacketEncoderTests
{
    private static readonly ProtocolVersion[] s_versions = [ProtocolVersion.V310, ProtocolVersion.V311, ProtocolVersion.V500];

    [TestCaseSource(typeof(PacketVectors), nameof(PacketVectors.Cases))]
    public void Encode_GoldenVector_ProducesExactlyItsBytes(PacketVector vector)
    {
        byte[] encoded = CodecDriver.Encode(vector.Model, vector.Version);

        Assert.That(Hex.Format(encoded), Is.EqualTo(Hex.Format(vector.Bytes)));
    }

    [TestCaseSource(nameof(RoundTripCases))]
    public void RoundTrip_EveryPacketTypeAndVersion_DecodesToTheSameFieldsAndReencodesToTheSameBytes(ProtocolVersion version, object model)
    {
        byte[] encoded = CodecDriver.Encode(model, version);

        object decoded = CodecDriver.DecodeSingle(encoded, version);
        object segmented = CodecDriver.DecodeSingle(Sequences.Segmented(encoded, 3), version, out _);
        byte[] reencoded = CodecDriver.Encode(CodecDriver.Normalize(decoded), version);

        Assert.That(CodecDriver.Dump(decoded), Is.EqualTo(PacketDump.Of(model)));
        Assert.That(CodecDriver.Dump(segmented), Is.EqualTo(PacketDump.Of(model)));
        Assert.That(Hex.Format(reencoded), Is.EqualTo(Hex.Format(encoded)));
    }

    [Test]
    public void RoundTripCases_SetEveryV5PropertyAtLeastOnce()
    {
        var set = new HashSet<string>();
        foreach (TestCaseData data in RoundTripCases())
        {
            foreach (MqttProperties properties in PropertiesIn(data.Arguments[1]!))
            {
                foreach (var property in typeof(MqttProperties).GetProperties())
                {
                    if (property.GetValue(properties) is not null)
                    {
                        set.Add(property.Name);
                    }
                }
            }
        }

        Assert.That(set, Is.EquivalentTo(typeof(MqttProperties).GetProperties().Select(p => p.Name)));
    }

    [TestCase(127, "30 7F")]
    [TestCase(128, "30 80 01")]
    [TestCase(16_383, "30 FF 7F")]
    [TestCase(16_384, "30 80 80 01")]
    [TestCase(2_097_151, "30 FF FF 7F")]
    [TestCase(2_097_152, "30 80 80 80 01")]
    public void WritePublish_RemainingLengthAtEachBoundary_UsesTheTableEncoding(int remainingLength, string header)
    {
        // 3.1.1 §2.2.3 Table 2.4 / 5.0 §1.5.5 Table 1-1; the topic takes 3 bytes, the payload the rest.
        var model = new PublishModel { TopicName = "t"u8.ToArray(), Payload = new byte[remainingLength - 3] };

        byte[] encoded = CodecDriver.Encode(model, ProtocolVersion.V311);
        int size = PacketEncoder.GetPublishSize(model.ToOutgoing(), ProtocolVersion.V311);

        Assert.That(Hex.Format(encoded.AsSpan(0, Hex.Parse(header).Length)), Is.EqualTo(Hex.Format(Hex.Parse(header))));
        Assert.That(encoded, Has.Length.EqualTo(size));
        Assert.That(CodecDriver.Dump(CodecDriver.DecodeSingle(encoded, ProtocolVersion.V311)), Is.EqualTo(PacketDump.Of(model)));
    }

    [TestCaseSource(nameof(RoundTripCases))]
    public void GetPublishSize_IsTheWrittenLength(ProtocolVersion version, object model)
    {
        if (model is not PublishModel publish)
        {
            Assert.Pass("not a PUBLISH");
            return;
        }

        Assert.That(PacketEncoder.GetPublishSize(publish.ToOutgoing(), version), Is.EqualTo(CodecDriver.Encode(model, version).Length));
    }

    [TestCase(ReasonCode.Success, ConnectReturnCode.Accepted)]
    [TestCase(ReasonCode.UnsupportedProtocolVersion, ConnectReturnCode.UnacceptableProtocolVersion)]
    [TestCase(ReasonCode.ClientIdentifierNotValid, ConnectReturnCode.IdentifierRejected)]
    [TestCase(ReasonCode.ServerUnavailable, ConnectReturnCode.ServerUnavailable)]
    [TestCase(ReasonCode.ServerBusy, ConnectReturnCode.ServerUnavailable)]
    [TestCase(ReasonCode.BadUserNameOrPassword, ConnectReturnCode.BadUserNameOrPassword)]
    [TestCase(ReasonCode.NotAuthorized, ConnectReturnCode.NotAuthorized)]
    [TestCase(ReasonCode.Banned, ConnectReturnCode.NotAuthorized)]
    [TestCase(ReasonCode.QuotaExceeded, ConnectReturnCode.ServerUnavailable)]
    public void WriteConnAck_V311_MapsTheReasonCodeToAReturnCode(ReasonCode reason, ConnectReturnCode expected)
    {
        // 5.0 §3.2.2.2 / 3.1.1 §3.2.2.3: a 3.1.1 client only knows return codes 0-5.
        byte[] encoded = CodecDriver.Encode(new ConnAckPacket { ReasonCode = reason, Properties = new MqttProperties { ReasonString = "dropped" } }, ProtocolVersion.V311);

        Assert.That(Hex.Format(encoded), Is.EqualTo(Hex.Format([0x20, 0x02, 0x00, (byte)expected])));
    }

    [Test]
    public void WriteSubAck_V311_WritesEveryFailureAs0x80()
    {
        // [MQTT-3.9.3-2]: 3.1.1 return codes are 0x00, 0x01, 0x02 and 0x80 only.
        var packet = new SubAckPacket { PacketIdentifier = 7, ReasonCodes = [ReasonCode.GrantedQoS1, ReasonCode.NotAuthorized, ReasonCode.TopicFilterInvalid, ReasonCode.GrantedQoS2, ReasonCode.UnspecifiedError] };

        Assert.That(Hex.Format(CodecDriver.Encode(packet, ProtocolVersion.V311)), Is.EqualTo(Hex.Format(Hex.Parse("90 07 00 07 01 80 80 02 80"))));
    }

    [Test]
    public void WriteSubscribe_V311_WritesOnlyTheRequestedQoS()
    {
        var packet = new SubscribePacket
        {
            PacketIdentifier = 10,
            Properties = new MqttProperties { SubscriptionIdentifiers = [5] },
            Subscriptions = [new("a/b", QualityOfService.AtLeastOnce, NoLocal: true, RetainAsPublished: true, RetainHandling.DoNotSend), new("c/d", QualityOfService.ExactlyOnce)],
        };

        Assert.That(Hex.Format(CodecDriver.Encode(packet, ProtocolVersion.V311)), Is.EqualTo(Hex.Format(PacketVectors.SubscribeV311.Bytes)));
    }

    [TestCase(ProtocolVersion.V311, "40 02 00 0A")] // 3.1.1 §3.4: packet identifier only
    [TestCase(ProtocolVersion.V500, "40 02 00 0A")] // 5.0 [MQTT-3.4.2.1]: Success without properties takes the short form
    public void WritePublishAck_SuccessWithoutProperties_IsTheShortForm(ProtocolVersion version, string expected)
    {
        byte[] encoded = CodecDriver.Encode(output => PacketEncoder.WritePublishAck(output, PacketType.PubAck, 10, version));

        Assert.That(Hex.Format(encoded), Is.EqualTo(Hex.Format(Hex.Parse(expected))));
    }

    [Test]
    public void WritePublishAck_V311_DropsReasonCodeAndProperties()
    {
        byte[] encoded = CodecDriver.Encode(output => PacketEncoder.WritePublishAck(output, PacketType.PubRel, 10, ProtocolVersion.V311, ReasonCode.PacketIdentifierNotFound, new MqttProperties { ReasonString = "x" }));

        Assert.That(Hex.Format(encoded), Is.EqualTo(Hex.Format(PacketVectors.PubRelV311.Bytes)));
    }

    [Test]
    public void WriteUnsubAck_V311_DropsReasonCodes()
    {
        var packet = new UnsubAckPacket { PacketIdentifier = 10, ReasonCodes = [ReasonCode.Success], Properties = new MqttProperties { ReasonString = "x" } };

        Assert.That(Hex.Format(CodecDriver.Encode(packet, ProtocolVersion.V311)), Is.EqualTo(Hex.Format(PacketVectors.UnsubAckV311.Bytes)));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public void WriteDisconnect_NormalOrV3_IsTheEmptyPacket(ProtocolVersion version)
    {
        // 5.0 §3.14.2.1: Normal Disconnection without properties may be sent with remaining length 0; 3.1.1 has nothing else.
        byte[] withNull = CodecDriver.Encode(output => PacketEncoder.WriteDisconnect(output, null, version));
        byte[] normal = CodecDriver.Encode(new DisconnectPacket { ReasonCode = ReasonCode.NormalDisconnection }, version);
        byte[] withReason = CodecDriver.Encode(new DisconnectPacket { ReasonCode = ReasonCode.SessionTakenOver }, version);

        Assert.That(Hex.Format(withNull), Is.EqualTo("E000"));
        Assert.That(Hex.Format(normal), Is.EqualTo("E000"));
        Assert.That(Hex.Format(withReason), Is.EqualTo(version == ProtocolVersion.V500 ? "E0018E" : "E000"));
    }

    [Test]
    public void WriteConnect_V311_IgnoresV5Properties()
    {
        var packet = new ConnectPacket
        {
            ProtocolVersion = ProtocolVersion.V311,
            KeepAlive = 10,
            ClientId = "client",
            Properties = new MqttProperties { SessionExpiryInterval = 10 },
            Will = new WillMessage { Topic = "w/t"u8.ToArray(), Payload = "bye"u8.ToArray(), QoS = QualityOfService.AtLeastOnce, Properties = new MqttProperties { WillDelayInterval = 1 } },
            UserName = "user",
            Password = "pass"u8.ToArray(),
        };

        Assert.That(Hex.Format(CodecDriver.Encode(packet, ProtocolVersion.V311)), Is.EqualTo(Hex.Format(PacketVectors.ConnectV311.Bytes)));
    }

    [Test]
    public void Write_IntoAWriterHoldingEarlierPackets_Appends()
    {
        var output = new ArrayBufferWriter<byte>(3);

        int a = PacketEncoder.WritePingReq(output);
        int b = PacketEncoder.WritePublish(output, ((PublishModel)PacketVectors.PublishV500Properties.Model).ToOutgoing(), ProtocolVersion.V500);
        int c = PacketEncoder.WriteSubscribe(output, (SubscribePacket)PacketVectors.SubscribeV500.Model, ProtocolVersion.V500);
        int d = PacketEncoder.WritePublishAck(output, PacketType.PubRec, 10, ProtocolVersion.V311);

        byte[] expected = [.. PacketVectors.PingReq.Bytes, .. PacketVectors.PublishV500Properties.Bytes, .. PacketVectors.SubscribeV500.Bytes, .. PacketVectors.PubRecV311.Bytes];
        Assert.That(Hex.Format(output.WrittenSpan), Is.EqualTo(Hex.Format(expected)));
        Assert.That(a + b + c + d, Is.EqualTo(expected.Length));
    }

    [Test]
    public void Write_OversizeField_ThrowsAndWritesNothing()
    {
        // [MQTT-1.5.3], [MQTT-1.5.6]: strings and Binary Data hold at most 65,535 bytes.
        byte[] tooLong = new byte[65_536];
        var output = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentException>(() => PacketEncoder.WriteConnect(output, new ConnectPacket { ClientId = new string('c', 65_536) }));
        Assert.Throws<ArgumentException>(() => PacketEncoder.WriteConnect(output, new ConnectPacket { ClientId = "c", UserName = "u", Password = tooLong }));
        Assert.Throws<ArgumentException>(() => PacketEncoder.WriteConnect(output, new ConnectPacket { ClientId = "c", Will = new WillMessage { Topic = "t"u8.ToArray(), Payload = tooLong } }));
        Assert.Throws<ArgumentException>(() => PacketEncoder.WritePublish(output, new OutgoingPublish { TopicName = tooLong }, ProtocolVersion.V311));
        Assert.Throws<ArgumentException>(() => PacketEncoder.WriteSubscribe(output, new SubscribePacket { PacketIdentifier = 1, Subscriptions = [new(new string('f', 65_536), QualityOfService.AtMostOnce)] }, ProtocolVersion.V311));
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void Write_PayloadOfExactly65535Bytes_RoundTrips()
    {
        var packet = new ConnectPacket { ClientId = "c", UserName = new string('u', 65_535), Password = new byte[65_535], Will = new WillMessage { Topic = new byte[65_535], Payload = new byte[65_535] } };
        packet.Will.Topic.AsSpan().Fill((byte)'t');

        byte[] encoded = CodecDriver.Encode(packet, ProtocolVersion.V311);

        Assert.That(CodecDriver.Dump(CodecDriver.DecodeSingle(encoded, ProtocolVersion.V311)), Is.EqualTo(PacketDump.Of(packet)));
    }

    [TestCase(ProtocolVersion.V311)]
    [TestCase(ProtocolVersion.V500)]
    public void WritePublish_IntoAReusedWriter_AllocatesNothing(ProtocolVersion version)
    {
        PacketVector vector = version == ProtocolVersion.V500 ? PacketVectors.PublishV500Properties : PacketVectors.PublishV311;
        var model = (PublishModel)vector.Model;
        var output = new ArrayBufferWriter<byte>(256);

        long written = EncodeRepeatedly(output, model, version, 2_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        written += EncodeRepeatedly(output, model, version, 1_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero, "bytes allocated by 1,000 encodes");
        Assert.That(written, Is.EqualTo(3_000L * vector.Bytes.Length));
        Assert.That(Hex.Format(output.WrittenSpan), Is.EqualTo(Hex.Format(vector.Bytes)));
    }

    [Test]
    public void WriteAcksAndPing_IntoAReusedWriter_AllocateNothing()
    {
        var output = new ArrayBufferWriter<byte>(64);
        long written = EncodeAcksRepeatedly(output, 2_000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        written += EncodeAcksRepeatedly(output, 1_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);
        Assert.That(written, Is.EqualTo(3_000L * (4 + 4 + 5 + 2)));
    }

    private static long EncodeRepeatedly(ArrayBufferWriter<byte> output, PublishModel model, ProtocolVersion version, int iterations)
    {
        byte[] topic = model.TopicName, payload = model.Payload, properties = model.Properties;
        int[] ids = model.SubscriptionIdentifiers;
        long written = 0;
        for (int i = 0; i < iterations; i++)
        {
            output.ResetWrittenCount();
            var publish = new OutgoingPublish
            {
                QoS = model.QoS,
                Dup = model.Dup,
                Retain = model.Retain,
                PacketIdentifier = model.PacketIdentifier,
                TopicName = topic,
                Payload = payload,
                Properties = properties,
                HasMessageExpiry = model.HasMessageExpiry,
                MessageExpiryInterval = model.MessageExpiryInterval,
                TopicAlias = model.TopicAlias,
                SubscriptionIdentifiers = ids,
            };
            written += PacketEncoder.WritePublish(output, publish, version);
        }

        return written;
    }

    private static long EncodeAcksRepeatedly(ArrayBufferWriter<byte> output, int iterations)
    {
        long written = 0;
        for (int i = 0; i < iterations; i++)
        {
            output.ResetWrittenCount();
            written += PacketEncoder.WritePublishAck(output, PacketType.PubAck, 1, ProtocolVersion.V500);
            written += PacketEncoder.WritePublishAck(output, PacketType.PubRec, 1, ProtocolVersion.V311);
            written += PacketEncoder.WritePublishAck(output, PacketType.PubComp, 1, ProtocolVersion.V500, ReasonCode.PacketIdentifierNotFound);
            written += PacketEncoder.WritePingResp(output);
        }

        return written;
    }

    /// <summary>Models of every packet type for every version; v5 ones carry every property each packet allows.</summary>
    public static IEnumerable<TestCaseData> RoundTripCases()
    {
        foreach (ProtocolVersion version in s_versions)
        {
            bool v5 = version == ProtocolVersion.V500;
            string name = version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT";

            yield return Case(version, "CONNECT minimal", new ConnectPacket { ProtocolName = name, ProtocolVersion = version, CleanStart = false, ClientId = "id" });
            for (int qos = 0; qos < 3; qos++)
            {
                yield return Case(version, $"CONNECT will QoS {qos}", new ConnectPacket
                {
                    ProtocolName = name,
                    ProtocolVersion = version,
                    KeepAlive = 65_535,
                    ClientId = "client-ü",
                    UserName = "user",
                    Password = [0x00, 0xFF],
                    Will = new WillMessage
                    {
                        Topic = "will/topic"u8.ToArray(),
                        Payload = [0x00, 0x01, 0xFE],
                        QoS = (QualityOfService)qos,
                        Retain = qos == 1,
                        Properties = v5 ? AllWillProperties() : null,
                    },
                    Properties = v5 ? AllConnectProperties() : null,
                });
            }

            if (v5)
            {
                yield return Case(version, "CONNACK refused", new ConnAckPacket { ReasonCode = ReasonCode.Banned, ReturnCode = 0x8A });
                yield return Case(version, "CONNACK all properties", new ConnAckPacket { SessionPresent = true, ReasonCode = ReasonCode.Success, Properties = AllConnAckProperties() });
            }
            else
            {
                ReasonCode[] codes = [ReasonCode.Success, ReasonCode.UnsupportedProtocolVersion, ReasonCode.ClientIdentifierNotValid, ReasonCode.ServerUnavailable, ReasonCode.BadUserNameOrPassword, ReasonCode.NotAuthorized];
                for (int code = 0; code < codes.Length; code++)
                {
                    yield return Case(version, $"CONNACK return code {code}", new ConnAckPacket { SessionPresent = code == 0, ReasonCode = codes[code], ReturnCode = (byte)code });
                }
            }

            yield return Case(version, "PUBLISH QoS 0", new PublishModel { TopicName = "a/b"u8.ToArray(), Payload = "hello"u8.ToArray() });
            yield return Case(version, "PUBLISH QoS 0 retain, empty payload", new PublishModel { Retain = true, TopicName = "a"u8.ToArray() });
            yield return Case(version, "PUBLISH QoS 1", new PublishModel { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 1, TopicName = "sensors/€/temp"u8.ToArray(), Payload = [0, 1, 2] });
            yield return Case(version, "PUBLISH QoS 2 DUP retain", new PublishModel { QoS = QualityOfService.ExactlyOnce, Dup = true, Retain = true, PacketIdentifier = 65_535, TopicName = "t"u8.ToArray(), Payload = new byte[20_000] });
            if (v5)
            {
                yield return Case(version, "PUBLISH all properties", new PublishModel
                {
                    QoS = QualityOfService.AtLeastOnce,
                    PacketIdentifier = 2,
                    TopicName = "a/b"u8.ToArray(),
                    Payload = "p"u8.ToArray(),
                    HasMessageExpiry = true,
                    MessageExpiryInterval = uint.MaxValue,
                    TopicAlias = 65_535,
                    SubscriptionIdentifiers = [1, 127, 128, 16_384, 268_435_455],
                    Properties = PacketVectors.PublishV500ForwardableProperties,
                });
                yield return Case(version, "PUBLISH topic alias only", new PublishModel { TopicAlias = 3, Payload = "p"u8.ToArray() });
                yield return Case(version, "PUBLISH expiry 0", new PublishModel { TopicName = "t"u8.ToArray(), HasMessageExpiry = true });
            }

            foreach (PacketType type in (PacketType[])[PacketType.PubAck, PacketType.PubRec, PacketType.PubRel, PacketType.PubComp])
            {
                yield return Case(version, $"{type}", new PublishAckPacket(type, 1));
                yield return Case(version, $"{type} id 65535", new PublishAckPacket(type, 65_535));
                if (v5)
                {
                    yield return Case(version, $"{type} reason only", new PublishAckPacket(type, 2, ReasonCode.ImplementationSpecificError));
                    yield return Case(version, $"{type} all properties", new PublishAckPacket(type, 3, ReasonCode.Success, new MqttProperties { ReasonString = "why", UserProperties = [new("n", "1"), new("n", "2")] }));
                }
            }

            yield return Case(version, "SUBSCRIBE", new SubscribePacket
            {
                PacketIdentifier = 4,
                Subscriptions = [new("a/+", QualityOfService.AtMostOnce), new("b/#", QualityOfService.AtLeastOnce), new("$SYS/x", QualityOfService.ExactlyOnce)],
            });
            if (v5)
            {
                var every = new List<TopicSubscription>();
                for (int rh = 0; rh < 3; rh++)
                {
                    for (int bits = 0; bits < 4; bits++)
                    {
                        for (int qos = 0; qos < 3; qos++)
                        {
                            every.Add(new TopicSubscription($"o/{rh}{bits}{qos}", (QualityOfService)qos, (bits & 1) != 0, (bits & 2) != 0, (RetainHandling)rh));
                        }
                    }
                }

                yield return Case(version, "SUBSCRIBE every option, all properties", new SubscribePacket
                {
                    PacketIdentifier = 5,
                    Properties = new MqttProperties { SubscriptionIdentifiers = [268_435_455], UserProperties = [new("s", "1")] },
                    Subscriptions = every,
                });
            }

            yield return Case(version, "SUBACK", new SubAckPacket { PacketIdentifier = 4, ReasonCodes = [ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS2, ReasonCode.UnspecifiedError] });
            if (v5)
            {
                yield return Case(version, "SUBACK all properties", new SubAckPacket
                {
                    PacketIdentifier = 5,
                    Properties = new MqttProperties { ReasonString = "r", UserProperties = [new("a", "b")] },
                    ReasonCodes = [ReasonCode.GrantedQoS2, ReasonCode.NotAuthorized, ReasonCode.TopicFilterInvalid, ReasonCode.SharedSubscriptionsNotSupported, ReasonCode.WildcardSubscriptionsNotSupported],
                });
            }

            yield return Case(version, "UNSUBSCRIBE", new UnsubscribePacket { PacketIdentifier = 6, TopicFilters = ["a/+", "b/#", "ü"] });
            yield return Case(version, "UNSUBACK", new UnsubAckPacket { PacketIdentifier = 6, ReasonCodes = v5 ? [ReasonCode.Success, ReasonCode.NoSubscriptionExisted] : [] });
            if (v5)
            {
                yield return Case(version, "UNSUBSCRIBE all properties", new UnsubscribePacket { PacketIdentifier = 7, Properties = new MqttProperties { UserProperties = [new("u", "1")] }, TopicFilters = ["x"] });
                yield return Case(version, "UNSUBACK all properties", new UnsubAckPacket { PacketIdentifier = 7, Properties = new MqttProperties { ReasonString = "r", UserProperties = [new("u", "1")] }, ReasonCodes = [ReasonCode.NotAuthorized] });
            }

            yield return Case(version, "PINGREQ", PacketType.PingReq);
            yield return Case(version, "PINGRESP", PacketType.PingResp);
            yield return Case(version, "DISCONNECT", new DisconnectPacket());
            if (v5)
            {
                yield return Case(version, "DISCONNECT reason only", new DisconnectPacket { ReasonCode = ReasonCode.KeepAliveTimeout });
                yield return Case(version, "DISCONNECT all properties", new DisconnectPacket
                {
                    ReasonCode = ReasonCode.ServerMoved,
                    Properties = new MqttProperties { SessionExpiryInterval = 3_600, ReasonString = "moved", ServerReference = "other:1883", UserProperties = [new("d", "1")] },
                });
                yield return Case(version, "AUTH", new AuthPacket());
                yield return Case(version, "AUTH reason only", new AuthPacket { ReasonCode = ReasonCode.ReAuthenticate });
                yield return Case(version, "AUTH all properties", new AuthPacket
                {
                    ReasonCode = ReasonCode.ContinueAuthentication,
                    Properties = new MqttProperties { AuthenticationMethod = "SCRAM-SHA-256", AuthenticationData = [1, 2, 3], ReasonString = "more", UserProperties = [new("a", "1")] },
                });
            }
        }
    }

    private static TestCaseData Case(ProtocolVersion version, string name, object model)
        => new TestCaseData(version, model).SetArgDisplayNames(version.ToString(), name);

    private static MqttProperties AllConnectProperties() => new()
    {
        SessionExpiryInterval = uint.MaxValue,
        ReceiveMaximum = 65_535,
        MaximumPacketSize = 268_435_460,
        TopicAliasMaximum = 0,
        RequestResponseInformation = 1,
        RequestProblemInformation = 0,
        AuthenticationMethod = "SCRAM-SHA-1",
        AuthenticationData = [9, 8, 7],
        UserProperties = [new("k", "v"), new("k", "v"), new("", "")],
    };

    private static MqttProperties AllWillProperties() => new()
    {
        WillDelayInterval = 30,
        PayloadFormatIndicator = 0,
        MessageExpiryInterval = 0,
        ContentType = "application/octet-stream",
        ResponseTopic = "reply/to",
        CorrelationData = [],
        UserProperties = [new("w", "1"), new("w", "2")],
    };

    private static MqttProperties AllConnAckProperties() => new()
    {
        SessionExpiryInterval = 0,
        ReceiveMaximum = 1,
        MaximumQoS = 0,
        RetainAvailable = 1,
        MaximumPacketSize = 1,
        AssignedClientIdentifier = "auto-1",
        TopicAliasMaximum = 65_535,
        ReasonString = "welcome",
        UserProperties = [new("c", "1")],
        WildcardSubscriptionAvailable = 0,
        SubscriptionIdentifierAvailable = 1,
        SharedSubscriptionAvailable = 0,
        ServerKeepAlive = 0,
        ResponseInformation = "resp/",
        ServerReference = "backup:1883",
        AuthenticationMethod = "SCRAM-SHA-1",
        AuthenticationData = [1],
    };

    private static IEnumerable<MqttProperties> PropertiesIn(object model)
    {
        MqttProperties? properties = model switch
        {
            ConnectPacket p => p.Properties,
            ConnAckPacket p => p.Properties,
            PublishAckPacket p => p.Properties,
            SubscribePacket p => p.Properties,
            SubAckPacket p => p.Properties,
            UnsubscribePacket p => p.Properties,
            UnsubAckPacket p => p.Properties,
            DisconnectPacket p => p.Properties,
            AuthPacket p => p.Properties,
            _ => null,
        };
        if (properties is not null)
        {
            yield return properties;
        }

        if (model is ConnectPacket { Will.Properties: { } will })
        {
            yield return will;
        }

        // A PUBLISH carries its properties as fields and forwardable bytes; decode them to count them too.
        if (model is PublishModel publish && CodecDriver.Encode(publish, ProtocolVersion.V500) is { } bytes
            && CodecDriver.DecodeSingle(bytes, ProtocolVersion.V500) is PublishPacket decoded
            && PacketDecoder.GetProperties(decoded.Properties) is { } publishProperties)
        {
            yield return publishProperties;
        }
    }
}
