using System.Reflection;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>
/// v5 properties [MQTT-2.2.2]: every identifier in every packet kind, against the spec's table (5.0 §2.2.2.2
/// Table 2-4) written out again here rather than read from <c>PropertyTable</c>; repeats, value ranges, unknown and
/// multi-byte identifiers; and the encoder's byte-exact output for each property.
/// </summary>
[TestFixture]
public sealed class PropertiesTests
{
    private const PropertyContext Message = PropertyContext.Publish | PropertyContext.Will;

    /// <summary>One valid value of each property, its bytes, and where 5.0 §2.2.2.2 Table 2-4 allows it.</summary>
    public sealed record PropertySample(PropertyId Id, string Bytes, object Value, PropertyContext AllowedIn)
    {
        public override string ToString() => Id.ToString();
    }

    public static readonly PropertySample[] Samples =
    [
        new(PropertyId.PayloadFormatIndicator, "01 01", (byte)1, Message),
        new(PropertyId.MessageExpiryInterval, "02 00 00 00 3C", 60u, Message),
        new(PropertyId.ContentType, "03 00 04 'text'", "text", Message),
        new(PropertyId.ResponseTopic, "08 00 03 'r/t'", "r/t", Message),
        new(PropertyId.CorrelationData, "09 00 02 01 02", new byte[] { 1, 2 }, Message),
        new(PropertyId.SubscriptionIdentifier, "0B 80 01", new List<int> { 128 }, PropertyContext.Publish | PropertyContext.Subscribe),
        new(PropertyId.SessionExpiryInterval, "11 00 00 00 0A", 10u, PropertyContext.Connect | PropertyContext.ConnAck | PropertyContext.Disconnect),
        new(PropertyId.AssignedClientIdentifier, "12 00 03 'abc'", "abc", PropertyContext.ConnAck),
        new(PropertyId.ServerKeepAlive, "13 00 1E", (ushort)30, PropertyContext.ConnAck),
        new(PropertyId.AuthenticationMethod, "15 00 05 'SCRAM'", "SCRAM", PropertyContext.Connect | PropertyContext.ConnAck | PropertyContext.Auth),
        new(PropertyId.AuthenticationData, "16 00 02 01 02", new byte[] { 1, 2 }, PropertyContext.Connect | PropertyContext.ConnAck | PropertyContext.Auth),
        new(PropertyId.RequestProblemInformation, "17 00", (byte)0, PropertyContext.Connect),
        new(PropertyId.WillDelayInterval, "18 00 00 00 05", 5u, PropertyContext.Will),
        new(PropertyId.RequestResponseInformation, "19 01", (byte)1, PropertyContext.Connect),
        new(PropertyId.ResponseInformation, "1A 00 01 'i'", "i", PropertyContext.ConnAck),
        new(PropertyId.ServerReference, "1C 00 01 's'", "s", PropertyContext.ConnAck | PropertyContext.Disconnect),
        new(PropertyId.ReasonString, "1F 00 02 'ok'", "ok", PropertyContext.ConnAck | PropertyContext.PublishAck | PropertyContext.SubAck | PropertyContext.UnsubAck | PropertyContext.Disconnect | PropertyContext.Auth),
        new(PropertyId.ReceiveMaximum, "21 00 0A", (ushort)10, PropertyContext.Connect | PropertyContext.ConnAck),
        new(PropertyId.TopicAliasMaximum, "22 00 05", (ushort)5, PropertyContext.Connect | PropertyContext.ConnAck),
        new(PropertyId.TopicAlias, "23 00 05", (ushort)5, PropertyContext.Publish),
        new(PropertyId.MaximumQoS, "24 01", (byte)1, PropertyContext.ConnAck),
        new(PropertyId.RetainAvailable, "25 00", (byte)0, PropertyContext.ConnAck),
        new(PropertyId.UserProperty, "26 00 01 'k' 00 01 'v'", new List<UserProperty> { new("k", "v") }, PropertyContext.All),
        new(PropertyId.MaximumPacketSize, "27 00 00 10 00", 4096u, PropertyContext.Connect | PropertyContext.ConnAck),
        new(PropertyId.WildcardSubscriptionAvailable, "28 01", (byte)1, PropertyContext.ConnAck),
        new(PropertyId.SubscriptionIdentifierAvailable, "29 00", (byte)0, PropertyContext.ConnAck),
        new(PropertyId.SharedSubscriptionAvailable, "2A 01", (byte)1, PropertyContext.ConnAck),
    ];

    public static IEnumerable<TestCaseData> SampleCases => Samples.Select(s => new TestCaseData(s).SetArgDisplayNames(s.Id.ToString()));

    public static IEnumerable<TestCaseData> SingletonCases => SampleCases.Where(c => ((PropertySample)c.Arguments[0]!).Id is not (PropertyId.UserProperty or PropertyId.SubscriptionIdentifier));

    [Test]
    public void Samples_CoverEveryPropertyIdentifier()
    {
        Assert.That(Samples.Select(s => s.Id), Is.EquivalentTo(Enum.GetValues<PropertyId>()));
    }

    [TestCaseSource(nameof(SampleCases))]
    public void Decode_PropertyInEachPacket_AcceptedExactlyWhereTheSpecAllowsIt(PropertySample sample)
    {
        foreach (PropertyContext context in PacketBuilder.Contexts)
        {
            byte[] bytes = PacketBuilder.WithProperties(context, sample.Bytes);
            if ((sample.AllowedIn & context) != 0)
            {
                object packet = CodecDriver.DecodeSingle(bytes, ProtocolVersion.V500);
                Assert.That(PacketDump.Of(Read(PropertiesOf(packet, context), sample.Id)), Is.EqualTo(PacketDump.Of(sample.Value)), $"{sample.Id} in {context}");
            }
            else
            {
                // 5.0 §2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
                ProtocolException e = CodecDriver.DecodeFails(bytes, ProtocolVersion.V500);
                Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket), $"{sample.Id} in {context}");
            }
        }
    }

    [TestCaseSource(nameof(SampleCases))]
    public void Encode_PropertyInEachAllowedPacket_WritesExactlyItsBytesAndRoundTrips(PropertySample sample)
    {
        foreach (PropertyContext context in PacketBuilder.Contexts)
        {
            if ((sample.AllowedIn & context) == 0)
            {
                continue;
            }

            object model = Model(context, sample);
            byte[] expected = PacketBuilder.WithProperties(context, sample.Bytes);

            byte[] encoded = CodecDriver.Encode(model, ProtocolVersion.V500);
            object decoded = CodecDriver.DecodeSingle(encoded, ProtocolVersion.V500);

            Assert.That(Hex.Format(encoded), Is.EqualTo(Hex.Format(expected)), $"{sample.Id} in {context}");
            Assert.That(CodecDriver.Dump(decoded), Is.EqualTo(PacketDump.Of(model)), $"{sample.Id} in {context}");
        }
    }

    [TestCaseSource(nameof(SingletonCases))]
    public void Decode_PropertyTwice_ThrowsProtocolError(PropertySample sample)
    {
        // 5.0 §3.x.2.x for each property: "It is a Protocol Error to include ... more than once".
        foreach (PropertyContext context in PacketBuilder.Contexts)
        {
            if ((sample.AllowedIn & context) == 0)
            {
                continue;
            }

            byte[] bytes = PacketBuilder.WithProperties(context, $"{sample.Bytes} {sample.Bytes}");

            ProtocolException e = CodecDriver.DecodeFails(bytes, ProtocolVersion.V500);
            Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError), $"{sample.Id} in {context}");
        }
    }

    [TestCaseSource(nameof(SampleCases))]
    public void Decode_PropertyValueCutShort_ThrowsMalformed(PropertySample sample)
    {
        // 5.0 §2.2.2.2: a value not of the property's data type (here: too short for it) is a Malformed Packet.
        byte[] property = Hex.Parse(sample.Bytes);
        foreach (PropertyContext context in PacketBuilder.Contexts)
        {
            if ((sample.AllowedIn & context) == 0)
            {
                continue;
            }

            for (int length = 1; length < property.Length; length++)
            {
                ProtocolException e = CodecDriver.DecodeFails(PacketBuilder.WithProperties(context, property[..length]), ProtocolVersion.V500);
                Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket), $"{sample.Id} in {context} cut to {length} bytes");
            }
        }
    }

    [Test]
    public void Decode_UnknownPropertyIdentifier_ThrowsMalformedInEveryPacket()
    {
        // 5.0 §2.2.2.2: only the identifiers of Table 2-4 exist; identifiers are VBIs, so 128 and up take two bytes.
        var defined = Enum.GetValues<PropertyId>().Select(id => (int)id).ToHashSet();
        int[] unknown = [.. Enumerable.Range(0, 128).Where(id => !defined.Contains(id)), 128, 0x101, 0x126, 0x18B, 16_383, 268_435_455];
        foreach (PropertyContext context in PacketBuilder.Contexts)
        {
            foreach (int id in unknown)
            {
                var identifier = new byte[4];
                int n = VariableByteInteger.Write(identifier, id);
                byte[] bytes = PacketBuilder.WithProperties(context, [.. identifier.AsSpan(0, n), 0x00, 0x00, 0x00, 0x00]);

                ProtocolException e = CodecDriver.DecodeFails(bytes, ProtocolVersion.V500);
                Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket), $"identifier {id} in {context}");
            }
        }
    }

    [TestCase("01 02")] // 5.0 §3.3.2.3.2 Payload Format Indicator: 0 or 1
    [TestCase("01 FF")] // 5.0 §3.3.2.3.2
    [TestCase("0B 00")] // 5.0 §3.3.2.3.8 Subscription Identifier 0 is a protocol error
    public void Decode_PublishPropertyOutOfRange_ThrowsProtocolErrorOnBothPaths(string property)
    {
        byte[] bytes = PacketBuilder.WithProperties(PropertyContext.Publish, property);
        byte[] will = PacketBuilder.WithProperties(PropertyContext.Will, property);

        Assert.That(CodecDriver.DecodeFails(bytes, ProtocolVersion.V500).ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
        if (property.StartsWith("01", StringComparison.Ordinal))
        {
            Assert.That(CodecDriver.DecodeFails(will, ProtocolVersion.V500).ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
        }
    }

    [TestCase(PropertyContext.Connect, "17 02")] // 5.0 §3.1.2.11.7 Request Problem Information: 0 or 1
    [TestCase(PropertyContext.Connect, "19 02")] // 5.0 §3.1.2.11.6 Request Response Information: 0 or 1
    [TestCase(PropertyContext.Connect, "21 00 00")] // 5.0 §3.1.2.11.3 Receive Maximum 0
    [TestCase(PropertyContext.Connect, "27 00 00 00 00")] // 5.0 §3.1.2.11.4 Maximum Packet Size 0
    [TestCase(PropertyContext.ConnAck, "21 00 00")] // 5.0 §3.2.2.3.3 Receive Maximum 0
    [TestCase(PropertyContext.ConnAck, "27 00 00 00 00")] // 5.0 §3.2.2.3.6 Maximum Packet Size 0
    [TestCase(PropertyContext.ConnAck, "24 02")] // 5.0 §3.2.2.3.4 Maximum QoS: 0 or 1
    [TestCase(PropertyContext.ConnAck, "25 02")] // 5.0 §3.2.2.3.5 Retain Available: 0 or 1
    [TestCase(PropertyContext.ConnAck, "28 02")] // 5.0 §3.2.2.3.11 Wildcard Subscription Available: 0 or 1
    [TestCase(PropertyContext.ConnAck, "29 02")] // 5.0 §3.2.2.3.12 Subscription Identifiers Available: 0 or 1
    [TestCase(PropertyContext.ConnAck, "2A 02")] // 5.0 §3.2.2.3.13 Shared Subscription Available: 0 or 1
    [TestCase(PropertyContext.Will, "01 02")] // 5.0 §3.1.3.2.3 will Payload Format Indicator: 0 or 1
    [TestCase(PropertyContext.Subscribe, "0B 00")] // 5.0 §3.8.2.1.2 Subscription Identifier 0
    public void Decode_PropertyValueOutOfRange_ThrowsProtocolError(PropertyContext context, string property)
    {
        ProtocolException e = CodecDriver.DecodeFails(PacketBuilder.WithProperties(context, property), ProtocolVersion.V500);

        Assert.That(e.ReasonCode, Is.EqualTo(ReasonCode.ProtocolError));
    }

    [TestCase(PropertyContext.Connect, "22 00 00")] // 5.0 §3.1.2.11.5 Topic Alias Maximum 0: no aliases
    [TestCase(PropertyContext.Connect, "11 FF FF FF FF")] // 5.0 §3.1.2.11.2 Session Expiry 0xFFFFFFFF: never expires
    [TestCase(PropertyContext.ConnAck, "13 00 00")] // 5.0 §3.2.2.3.14 Server Keep Alive 0
    [TestCase(PropertyContext.Publish, "0B FF FF FF 7F")] // 5.0 §3.3.2.3.8 the largest Subscription Identifier
    [TestCase(PropertyContext.Publish, "02 FF FF FF FF")] // 5.0 §3.3.2.3.3 the largest Message Expiry Interval
    [TestCase(PropertyContext.Publish, "26 00 00 00 00")] // 5.0 §3.3.2.3.7 empty name and value
    [TestCase(PropertyContext.Publish, "09 00 00")] // 5.0 §3.3.2.3.6 empty Correlation Data
    [TestCase(PropertyContext.Auth, "16 00 00")] // 5.0 §3.15.2.2.3 empty Authentication Data
    public void Decode_PropertyEdgeValue_IsAccepted(PropertyContext context, string property)
    {
        object packet = CodecDriver.DecodeSingle(PacketBuilder.WithProperties(context, property), ProtocolVersion.V500);

        Assert.That(PropertiesOf(packet, context), Is.Not.Null);
    }

    [Test]
    public void Decode_UserPropertiesWithRepeatedNames_KeptInOrderInEveryPacket()
    {
        // 5.0 §3.1.2.11.8 (and each packet's User Property): allowed to appear multiple times, even with the same name;
        // [MQTT-3.3.2-18] their order is kept.
        const string users = "26 00 01 'a' 00 01 '1' 26 00 01 'b' 00 01 '2' 26 00 01 'a' 00 01 '3' 26 00 01 'a' 00 01 '1'";
        UserProperty[] expected = [new("a", "1"), new("b", "2"), new("a", "3"), new("a", "1")];
        foreach (PropertyContext context in PacketBuilder.Contexts)
        {
            object packet = CodecDriver.DecodeSingle(PacketBuilder.WithProperties(context, users), ProtocolVersion.V500);

            Assert.That(PropertiesOf(packet, context)!.UserProperties, Is.EqualTo(expected), context.ToString());
        }
    }

    [Test]
    public void Decode_PublishWithSeveralSubscriptionIdentifiers_KeepsThemInOrder()
    {
        // 5.0 §3.3.4: a PUBLISH to a client carries one Subscription Identifier per matching subscription.
        byte[] bytes = PacketBuilder.WithProperties(PropertyContext.Publish, "0B 03 0B 01 0B FF 7F 0B 03");

        var packet = (PublishPacket)CodecDriver.DecodeSingle(bytes, ProtocolVersion.V500);

        Assert.That(PacketDecoder.GetSubscriptionIdentifiers(packet.Properties), Is.EqualTo(new[] { 3, 1, 16_383, 3 }));
        Assert.That(PacketDecoder.GetProperties(packet.Properties)!.SubscriptionIdentifiers, Is.EqualTo(new[] { 3, 1, 16_383, 3 }));
        Assert.That(packet.Properties.SubscriptionIdentifierCount, Is.EqualTo(4));
    }

    [Test]
    public void Encode_EveryPropertyAtOnce_WritesIdentifierOrderWithUserPropertiesLast()
    {
        var properties = new MqttProperties();
        foreach (PropertySample sample in Samples)
        {
            Field(sample.Id).SetValue(properties, sample.Value);
        }

        byte[] encoded = CodecDriver.Encode(new DisconnectPacket { ReasonCode = ReasonCode.Success, Properties = properties }, ProtocolVersion.V500);

        string content = string.Join(' ', Samples.Where(s => s.Id != PropertyId.UserProperty).Select(s => s.Bytes)) + " 26 00 01 'k' 00 01 'v'";
        Assert.That(Hex.Format(encoded), Is.EqualTo(Hex.Format(PacketBuilder.Frame(0xE0, [0x00], PacketBuilder.Properties(content)))));
    }

    [Test]
    public void Encode_StringPropertyOver65535Bytes_Throws()
    {
        var packet = new DisconnectPacket { ReasonCode = ReasonCode.Success, Properties = new MqttProperties { ReasonString = new string('x', 65_536) } };

        Assert.Throws<ArgumentException>(() => CodecDriver.Encode(packet, ProtocolVersion.V500));
    }

    [Test]
    public void Encode_BinaryPropertyOver65535Bytes_Throws()
    {
        // [MQTT-1.5.6]: Binary Data is at most 65,535 bytes; a longer one must not be written with a wrapped length.
        var packet = new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, Properties = new MqttProperties { AuthenticationData = new byte[65_536] } };

        Assert.Throws<ArgumentException>(() => CodecDriver.Encode(packet, ProtocolVersion.V500));
    }

    [Test]
    public void Encode_StringPropertyOfExactly65535Bytes_RoundTrips()
    {
        var packet = new DisconnectPacket { ReasonCode = ReasonCode.ServerBusy, Properties = new MqttProperties { ReasonString = new string('x', 65_535) } };

        byte[] encoded = CodecDriver.Encode(packet, ProtocolVersion.V500);
        object decoded = CodecDriver.DecodeSingle(encoded, ProtocolVersion.V500);

        Assert.That(CodecDriver.Dump(decoded), Is.EqualTo(PacketDump.Of(packet)));
    }

    /// <summary>The packet <see cref="PacketBuilder.WithProperties(PropertyContext, byte[])"/> builds, as a model carrying one property.</summary>
    private static object Model(PropertyContext context, PropertySample sample)
    {
        if (context == PropertyContext.Publish)
        {
            return new PublishModel
            {
                QoS = QualityOfService.AtLeastOnce,
                PacketIdentifier = 1,
                TopicName = "a/b"u8.ToArray(),
                Payload = "p"u8.ToArray(),
                HasMessageExpiry = sample.Id == PropertyId.MessageExpiryInterval,
                MessageExpiryInterval = sample.Id == PropertyId.MessageExpiryInterval ? (uint)sample.Value : 0,
                TopicAlias = sample.Id == PropertyId.TopicAlias ? (ushort)sample.Value : (ushort)0,
                SubscriptionIdentifiers = sample.Id == PropertyId.SubscriptionIdentifier ? [.. (List<int>)sample.Value] : [],
                Properties = sample.Id is PropertyId.MessageExpiryInterval or PropertyId.TopicAlias or PropertyId.SubscriptionIdentifier ? [] : Hex.Parse(sample.Bytes),
            };
        }

        var p = new MqttProperties();
        Field(sample.Id).SetValue(p, sample.Value);
        return context switch
        {
            PropertyContext.Connect => new ConnectPacket { ProtocolVersion = ProtocolVersion.V500, KeepAlive = 10, ClientId = "c", Properties = p },
            PropertyContext.ConnAck => new ConnAckPacket { Properties = p },
            PropertyContext.Will => new ConnectPacket { ProtocolVersion = ProtocolVersion.V500, KeepAlive = 10, ClientId = "c", Will = new WillMessage { Topic = "t"u8.ToArray(), Payload = "m"u8.ToArray(), Properties = p } },
            PropertyContext.PublishAck => new PublishAckPacket(PacketType.PubAck, 1, ReasonCode.Success, p),
            PropertyContext.Subscribe => new SubscribePacket { PacketIdentifier = 1, Properties = p, Subscriptions = [new("a", QualityOfService.AtMostOnce)] },
            PropertyContext.SubAck => new SubAckPacket { PacketIdentifier = 1, Properties = p, ReasonCodes = [ReasonCode.GrantedQoS0] },
            PropertyContext.Unsubscribe => new UnsubscribePacket { PacketIdentifier = 1, Properties = p, TopicFilters = ["a"] },
            PropertyContext.UnsubAck => new UnsubAckPacket { PacketIdentifier = 1, Properties = p, ReasonCodes = [ReasonCode.Success] },
            PropertyContext.Disconnect => new DisconnectPacket { ReasonCode = ReasonCode.NormalDisconnection, Properties = p },
            PropertyContext.Auth => new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, Properties = p },
            _ => throw new ArgumentOutOfRangeException(nameof(context)),
        };
    }

    private static MqttProperties? PropertiesOf(object packet, PropertyContext context) => packet switch
    {
        ConnectPacket p => context == PropertyContext.Will ? p.Will!.Properties : p.Properties,
        ConnAckPacket p => p.Properties,
        PublishPacket p => PacketDecoder.GetProperties(p.Properties),
        PublishAckPacket p => p.Properties,
        SubscribePacket p => p.Properties,
        SubAckPacket p => p.Properties,
        UnsubscribePacket p => p.Properties,
        UnsubAckPacket p => p.Properties,
        DisconnectPacket p => p.Properties,
        AuthPacket p => p.Properties,
        _ => throw new ArgumentException(packet.GetType().Name, nameof(packet)),
    };

    private static object? Read(MqttProperties? properties, PropertyId id) => properties is null ? null : Field(id).GetValue(properties);

    private static PropertyInfo Field(PropertyId id) => typeof(MqttProperties).GetProperty(id switch
    {
        PropertyId.SubscriptionIdentifier => nameof(MqttProperties.SubscriptionIdentifiers),
        PropertyId.UserProperty => nameof(MqttProperties.UserProperties),
        _ => id.ToString(),
    })!;
}
