using System.Buffers;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

public static partial class PacketEncoder
{
    public static int WriteSubscribe(IBufferWriter<byte> output, SubscribePacket packet, ProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = version == ProtocolVersion.V500;
        int propertiesLength = v5 ? PropertiesWriter.GetContentLength(packet.Properties) : 0;
        int remaining = 2 + (v5 ? PropertiesWriter.GetBlockLength(propertiesLength) : 0);
        foreach (TopicSubscription s in packet.Subscriptions)
        {
            remaining += 2 + Utf8Rules.GetByteCount(s.TopicFilter) + 1;
        }

        MqttWriter writer = Begin(output, ((byte)PacketType.Subscribe << 4) | 0x02, remaining, out Span<byte> span);
        writer.WriteTwoByteInteger(packet.PacketIdentifier);
        if (v5)
        {
            PropertiesWriter.Write(ref writer, packet.Properties, propertiesLength);
        }

        foreach (TopicSubscription s in packet.Subscriptions)
        {
            writer.WriteString(s.TopicFilter);
            byte options = (byte)s.QoS;
            if (v5)
            {
                options |= (byte)((s.NoLocal ? 0x04 : 0) | (s.RetainAsPublished ? 0x08 : 0) | ((byte)s.RetainHandling << 4));
            }

            writer.WriteByte(options);
        }

        return End(output, ref writer, span);
    }

    /// <summary>SUBACK. For 3.1/3.1.1 every failure code becomes 0x80 [MQTT-3.9.3].</summary>
    public static int WriteSubAck(IBufferWriter<byte> output, SubAckPacket packet, ProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = version == ProtocolVersion.V500;
        int propertiesLength = v5 ? PropertiesWriter.GetContentLength(packet.Properties) : 0;
        int remaining = 2 + (v5 ? PropertiesWriter.GetBlockLength(propertiesLength) : 0) + packet.ReasonCodes.Count;
        MqttWriter writer = Begin(output, (byte)PacketType.SubAck << 4, remaining, out Span<byte> span);
        writer.WriteTwoByteInteger(packet.PacketIdentifier);
        if (v5)
        {
            PropertiesWriter.Write(ref writer, packet.Properties, propertiesLength);
        }

        foreach (ReasonCode code in packet.ReasonCodes)
        {
            writer.WriteByte(v5 || code <= ReasonCode.GrantedQoS2 ? (byte)code : (byte)0x80);
        }

        return End(output, ref writer, span);
    }

    public static int WriteUnsubscribe(IBufferWriter<byte> output, UnsubscribePacket packet, ProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = version == ProtocolVersion.V500;
        int propertiesLength = v5 ? PropertiesWriter.GetContentLength(packet.Properties) : 0;
        int remaining = 2 + (v5 ? PropertiesWriter.GetBlockLength(propertiesLength) : 0);
        foreach (string filter in packet.TopicFilters)
        {
            remaining += 2 + Utf8Rules.GetByteCount(filter);
        }

        MqttWriter writer = Begin(output, ((byte)PacketType.Unsubscribe << 4) | 0x02, remaining, out Span<byte> span);
        writer.WriteTwoByteInteger(packet.PacketIdentifier);
        if (v5)
        {
            PropertiesWriter.Write(ref writer, packet.Properties, propertiesLength);
        }

        foreach (string filter in packet.TopicFilters)
        {
            writer.WriteString(filter);
        }

        return End(output, ref writer, span);
    }

    /// <summary>UNSUBACK. 3.1/3.1.1 carry only the packet identifier.</summary>
    public static int WriteUnsubAck(IBufferWriter<byte> output, UnsubAckPacket packet, ProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = version == ProtocolVersion.V500;
        int propertiesLength = v5 ? PropertiesWriter.GetContentLength(packet.Properties) : 0;
        int remaining = 2 + (v5 ? PropertiesWriter.GetBlockLength(propertiesLength) + packet.ReasonCodes.Count : 0);
        MqttWriter writer = Begin(output, (byte)PacketType.UnsubAck << 4, remaining, out Span<byte> span);
        writer.WriteTwoByteInteger(packet.PacketIdentifier);
        if (v5)
        {
            PropertiesWriter.Write(ref writer, packet.Properties, propertiesLength);
            foreach (ReasonCode code in packet.ReasonCodes)
            {
                writer.WriteByte((byte)code);
            }
        }

        return End(output, ref writer, span);
    }

    public static int WritePingReq(IBufferWriter<byte> output) => WriteEmpty(output, PacketType.PingReq);

    public static int WritePingResp(IBufferWriter<byte> output) => WriteEmpty(output, PacketType.PingResp);

    private static int WriteEmpty(IBufferWriter<byte> output, PacketType type)
    {
        ArgumentNullException.ThrowIfNull(output);
        Span<byte> span = output.GetSpan(2);
        span[0] = (byte)((byte)type << 4);
        span[1] = 0;
        output.Advance(2);
        return 2;
    }

    /// <summary>DISCONNECT. v5 omits a Normal Disconnection reason without properties [MQTT-3.14.2.1].</summary>
    public static int WriteDisconnect(IBufferWriter<byte> output, DisconnectPacket? packet, ProtocolVersion version)
    {
        if (version != ProtocolVersion.V500 || packet is null || (packet.ReasonCode == ReasonCode.NormalDisconnection && packet.Properties is null))
        {
            return WriteEmpty(output, PacketType.Disconnect);
        }

        return WriteReasonAndProperties(output, PacketType.Disconnect, packet.ReasonCode, packet.Properties);
    }

    /// <summary>AUTH (v5 only).</summary>
    public static int WriteAuth(IBufferWriter<byte> output, AuthPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        if (packet.ReasonCode == ReasonCode.Success && packet.Properties is null)
        {
            return WriteEmpty(output, PacketType.Auth);
        }

        return WriteReasonAndProperties(output, PacketType.Auth, packet.ReasonCode, packet.Properties);
    }

    private static int WriteReasonAndProperties(IBufferWriter<byte> output, PacketType type, ReasonCode code, MqttProperties? properties)
    {
        ArgumentNullException.ThrowIfNull(output);
        int propertiesLength = PropertiesWriter.GetContentLength(properties);
        int remaining = 1 + (properties is null ? 0 : PropertiesWriter.GetBlockLength(propertiesLength));
        MqttWriter writer = Begin(output, (byte)((byte)type << 4), remaining, out Span<byte> span);
        writer.WriteByte((byte)code);
        if (properties is not null)
        {
            PropertiesWriter.Write(ref writer, properties, propertiesLength);
        }

        return End(output, ref writer, span);
    }
}
