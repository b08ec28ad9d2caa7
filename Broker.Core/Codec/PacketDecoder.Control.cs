using System.Buffers;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

public static partial class PacketDecoder
{
    /// <summary>PUBACK, PUBREC, PUBREL, PUBCOMP [MQTT-3.4..3.7]. v5 may omit the reason code (then Success) and properties.</summary>
    public static PublishAckPacket DecodePublishAck(in FixedHeader header, ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        ushort packetId = ReadPacketIdentifier(ref reader);
        if (version != ProtocolVersion.V500 || reader.End)
        {
            EnsureEnd(reader, header.Type);
            return new PublishAckPacket(header.Type, packetId);
        }

        var reasonCode = (ReasonCode)reader.ReadByte();
        MqttProperties? properties = reader.End ? null : PropertiesReader.Read(ref reader, PropertyContext.PublishAck);
        EnsureEnd(reader, header.Type);
        return new PublishAckPacket(header.Type, packetId, reasonCode, properties);
    }

    /// <summary>Names the packet only when throwing: <c>PacketType.ToString()</c> boxes, 24 bytes per ack otherwise.</summary>
    private static void EnsureEnd(in MqttReader reader, PacketType type)
    {
        if (!reader.End)
        {
            ProtocolThrow.Malformed($"{type} has bytes after its last field.");
        }
    }

    /// <summary>SUBSCRIBE [MQTT-3.8].</summary>
    public static SubscribePacket DecodeSubscribe(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        var packet = new SubscribePacket { PacketIdentifier = ReadPacketIdentifier(ref reader) };
        if (version == ProtocolVersion.V500)
        {
            packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.Subscribe);
            if (packet.Properties?.SubscriptionIdentifiers is { Count: > 1 })
            {
                ProtocolThrow.ProtocolError("SUBSCRIBE with more than one Subscription Identifier [MQTT-3.8.2.1.2].");
            }
        }

        while (!reader.End)
        {
            string filter = reader.ReadString();
            byte options = reader.ReadByte();
            var qos = (QualityOfService)(options & 0x03);
            if (qos > QualityOfService.ExactlyOnce)
            {
                // 3.1.1 calls it malformed [MQTT-3.8.3-4]; 5.0 §3.8.3.1 a protocol error (0x82).
                if (version == ProtocolVersion.V500)
                {
                    ProtocolThrow.ProtocolError("Maximum QoS 3 in the subscription options [MQTT-3.8.3.1].");
                }

                ProtocolThrow.Malformed("Requested QoS 3 [MQTT-3.8.3-4].");
            }

            if (version != ProtocolVersion.V500)
            {
                if ((options & 0xFC) != 0)
                {
                    ProtocolThrow.Malformed("SUBSCRIBE requested QoS byte has reserved bits set [MQTT-3-8.3-4].");
                }

                packet.Subscriptions.Add(new TopicSubscription(filter, qos));
                continue;
            }

            if ((options & 0xC0) != 0)
            {
                ProtocolThrow.Malformed("Subscription Options reserved bits are set [MQTT-3.8.3-5].");
            }

            var retainHandling = (RetainHandling)((options >> 4) & 0x03);
            if ((byte)retainHandling == 3)
            {
                ProtocolThrow.ProtocolError("Retain Handling 3 [MQTT-3.8.3.1].");
            }

            packet.Subscriptions.Add(new TopicSubscription(filter, qos, (options & 0x04) != 0, (options & 0x08) != 0, retainHandling));
        }

        if (packet.Subscriptions.Count == 0)
        {
            ProtocolThrow.ProtocolError("SUBSCRIBE without topic filters [MQTT-3.8.3-3].");
        }

        return packet;
    }

    /// <summary>SUBACK [MQTT-3.9], as a client reads it.</summary>
    public static SubAckPacket DecodeSubAck(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        var packet = new SubAckPacket { PacketIdentifier = ReadPacketIdentifier(ref reader) };
        if (version == ProtocolVersion.V500)
        {
            packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.SubAck);
        }

        while (!reader.End)
        {
            packet.ReasonCodes.Add((ReasonCode)reader.ReadByte());
        }

        return packet;
    }

    /// <summary>UNSUBSCRIBE [MQTT-3.10].</summary>
    public static UnsubscribePacket DecodeUnsubscribe(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        var packet = new UnsubscribePacket { PacketIdentifier = ReadPacketIdentifier(ref reader) };
        if (version == ProtocolVersion.V500)
        {
            packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.Unsubscribe);
        }

        while (!reader.End)
        {
            packet.TopicFilters.Add(reader.ReadString());
        }

        if (packet.TopicFilters.Count == 0)
        {
            ProtocolThrow.ProtocolError("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2].");
        }

        return packet;
    }

    /// <summary>UNSUBACK [MQTT-3.11], as a client reads it.</summary>
    public static UnsubAckPacket DecodeUnsubAck(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        var packet = new UnsubAckPacket { PacketIdentifier = ReadPacketIdentifier(ref reader) };
        if (version == ProtocolVersion.V500)
        {
            packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.UnsubAck);
            while (!reader.End)
            {
                packet.ReasonCodes.Add((ReasonCode)reader.ReadByte());
            }
        }

        reader.EnsureEnd("UNSUBACK");
        return packet;
    }

    /// <summary>DISCONNECT [MQTT-3.14]. 3.1/3.1.1 have an empty body; v5 may omit reason code and properties.</summary>
    public static DisconnectPacket DecodeDisconnect(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        var packet = new DisconnectPacket();
        if (version == ProtocolVersion.V500 && !reader.End)
        {
            packet.ReasonCode = (ReasonCode)reader.ReadByte();
            if (!reader.End)
            {
                packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.Disconnect);
            }
        }

        reader.EnsureEnd("DISCONNECT");
        return packet;
    }

    /// <summary>AUTH [MQTT-3.15]: only in v5; in 3.1.1 packet type 15 is reserved.</summary>
    public static AuthPacket DecodeAuth(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        if (version != ProtocolVersion.V500)
        {
            ProtocolThrow.Malformed("Packet type 15 is reserved before MQTT 5.0.");
        }

        var reader = new MqttReader(body);
        var packet = new AuthPacket();
        if (!reader.End)
        {
            packet.ReasonCode = (ReasonCode)reader.ReadByte();
            if (!reader.End)
            {
                packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.Auth);
            }
        }

        reader.EnsureEnd("AUTH");
        return packet;
    }
}
