using System.Buffers;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

public static partial class PacketDecoder
{
    /// <summary>
    /// PUBLISH [MQTT-3.3], the hot path: no allocation. Topic and payload are slices of <paramref name="body"/>;
    /// v5 properties are validated in one pass that also notes the values the broker acts on.
    /// </summary>
    public static PublishPacket DecodePublish(in FixedHeader header, ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        var qos = (QualityOfService)((header.Flags >> 1) & 0x03);
        ReadOnlySequence<byte> topic = reader.ReadUtf8String();
        ushort packetId = qos == QualityOfService.AtMostOnce ? (ushort)0 : ReadPacketIdentifier(ref reader);
        PublishProperties properties = version == ProtocolVersion.V500 ? ReadPublishProperties(ref reader) : default;

        return new PublishPacket
        {
            QoS = qos,
            Dup = (header.Flags & 0x08) != 0,
            Retain = (header.Flags & 0x01) != 0,
            PacketIdentifier = packetId,
            TopicName = topic,
            Payload = reader.ReadToEnd(),
            Properties = properties,
        };
    }

    private static PublishProperties ReadPublishProperties(ref MqttReader reader)
    {
        int length = reader.ReadVariableByteInteger();
        if (length == 0)
        {
            return default;
        }

        ReadOnlySequence<byte> raw = reader.ReadSlice(length);
        var block = new MqttReader(raw);
        ulong seen = 0;
        bool hasExpiry = false, hasAlias = false, hasFormat = false, hasResponseTopic = false;
        uint expiry = 0;
        ushort alias = 0;
        byte format = 0;
        int subscriptionIds = 0;
        int forwardable = 0;
        ReadOnlySequence<byte> responseTopic = default;

        while (!block.End)
        {
            long start = block.Remaining;
            byte id = PropertiesReader.ReadIdentifier(ref block);
            PropertiesReader.CheckAllowedOnce(id, PropertyContext.Publish, ref seen);
            switch ((PropertyId)id)
            {
                case PropertyId.MessageExpiryInterval:
                    hasExpiry = true;
                    expiry = block.ReadFourByteInteger();
                    continue;
                case PropertyId.TopicAlias:
                    hasAlias = true;
                    alias = block.ReadTwoByteInteger();
                    continue;
                case PropertyId.SubscriptionIdentifier:
                    if (block.ReadVariableByteInteger() == 0)
                    {
                        ProtocolThrow.ProtocolError("Subscription Identifier 0 [MQTT-3.8.2.1.2].");
                    }

                    subscriptionIds++;
                    continue;
                case PropertyId.PayloadFormatIndicator:
                    hasFormat = true;
                    format = block.ReadByte();
                    if (format > 1)
                    {
                        ProtocolThrow.ProtocolError("Payload Format Indicator must be 0 or 1.");
                    }

                    break;
                case PropertyId.ResponseTopic:
                    hasResponseTopic = true;
                    responseTopic = block.ReadUtf8String();
                    break;
                default:
                    PropertiesReader.SkipValue(ref block, id);
                    break;
            }

            forwardable += (int)(start - block.Remaining);
        }

        return new PublishProperties
        {
            Raw = raw,
            HasMessageExpiry = hasExpiry,
            MessageExpiryInterval = expiry,
            HasTopicAlias = hasAlias,
            TopicAlias = alias,
            HasPayloadFormat = hasFormat,
            PayloadFormatIndicator = format,
            HasResponseTopic = hasResponseTopic,
            ResponseTopic = responseTopic,
            SubscriptionIdentifierCount = subscriptionIds,
            ForwardableLength = forwardable,
        };
    }

    /// <summary>
    /// Copies the forwardable properties of a PUBLISH (all but Message Expiry Interval, Topic Alias and
    /// Subscription Identifier) into <paramref name="destination"/>, which holds <see cref="PublishProperties.ForwardableLength"/> bytes.
    /// </summary>
    public static void CopyForwardableProperties(in PublishProperties properties, Span<byte> destination)
    {
        if (properties.ForwardableLength == 0)
        {
            return;
        }

        var block = new MqttReader(properties.Raw);
        ReadOnlySequence<byte> raw = properties.Raw;
        int written = 0;
        while (!block.End)
        {
            SequencePosition start = block.Position;
            byte id = (byte)block.ReadVariableByteInteger();
            PropertiesReader.SkipValue(ref block, id);
            if (id is (byte)PropertyId.MessageExpiryInterval or (byte)PropertyId.TopicAlias or (byte)PropertyId.SubscriptionIdentifier)
            {
                continue;
            }

            ReadOnlySequence<byte> property = raw.Slice(start, block.Position);
            property.CopyTo(destination[written..]);
            written += (int)property.Length;
        }
    }

    /// <summary>Reads the Subscription Identifiers of a PUBLISH (a client reading what the broker sent).</summary>
    public static int[] GetSubscriptionIdentifiers(in PublishProperties properties)
    {
        if (properties.SubscriptionIdentifierCount == 0)
        {
            return [];
        }

        var ids = new int[properties.SubscriptionIdentifierCount];
        int n = 0;
        var block = new MqttReader(properties.Raw);
        while (!block.End)
        {
            byte id = (byte)block.ReadVariableByteInteger();
            if (id == (byte)PropertyId.SubscriptionIdentifier)
            {
                ids[n++] = block.ReadVariableByteInteger();
            }
            else
            {
                PropertiesReader.SkipValue(ref block, id);
            }
        }

        return ids;
    }

    /// <summary>Decodes the whole property block of a PUBLISH into fields (for clients and tests).</summary>
    public static MqttProperties? GetProperties(in PublishProperties properties)
    {
        if (properties.Raw.Length == 0)
        {
            return null;
        }

        int length = (int)properties.Raw.Length;
        Span<byte> prefix = stackalloc byte[4];
        int n = VariableByteInteger.Write(prefix, length);
        var withLength = new byte[n + length];
        prefix[..n].CopyTo(withLength);
        properties.Raw.CopyTo(withLength.AsSpan(n));
        var reader = new MqttReader(new ReadOnlySequence<byte>(withLength));
        return PropertiesReader.Read(ref reader, PropertyContext.Publish);
    }
}
