using System.Buffers;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>
/// Encodes packets into an <see cref="IBufferWriter{T}"/>: size first, one <c>GetSpan</c>, one <c>Advance</c>.
/// Every method returns the bytes written (for byte counters).
/// </summary>
public static partial class PacketEncoder
{
    private static MqttWriter Begin(IBufferWriter<byte> output, byte first, int remainingLength, out Span<byte> span)
    {
        int total = 1 + VariableByteInteger.GetSize(remainingLength) + remainingLength;
        span = output.GetSpan(total)[..total];
        var writer = new MqttWriter(span);
        writer.WriteFixedHeader(first, remainingLength);
        return writer;
    }

    private static int End(IBufferWriter<byte> output, ref MqttWriter writer, Span<byte> span)
    {
        if (writer.Position != span.Length)
        {
            throw new InvalidOperationException($"Encoder sized {span.Length} bytes but wrote {writer.Position}.");
        }

        output.Advance(writer.Position);
        return writer.Position;
    }

    public static int WriteConnect(IBufferWriter<byte> output, ConnectPacket packet)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = packet.ProtocolVersion == ProtocolVersion.V500;
        string name = packet.ProtocolVersion == ProtocolVersion.V310 ? "MQIsdp" : "MQTT";
        int propertiesLength = v5 ? PropertiesWriter.GetContentLength(packet.Properties) : 0;
        int remaining = 2 + name.Length + 1 + 1 + 2 + (v5 ? PropertiesWriter.GetBlockLength(propertiesLength) : 0);
        remaining += 2 + Utf8Rules.GetByteCount(packet.ClientId);
        int willPropertiesLength = 0;
        if (packet.Will is { } will)
        {
            if (v5)
            {
                willPropertiesLength = PropertiesWriter.GetContentLength(will.Properties);
                remaining += PropertiesWriter.GetBlockLength(willPropertiesLength);
            }

            remaining += 2 + will.Topic.Length + 2 + will.Payload.Length;
        }

        if (packet.UserName is not null)
        {
            remaining += 2 + Utf8Rules.GetByteCount(packet.UserName);
        }

        if (packet.Password is not null)
        {
            remaining += 2 + packet.Password.Length;
        }

        byte flags = 0;
        if (packet.CleanStart)
        {
            flags |= 0x02;
        }

        if (packet.Will is { } w)
        {
            flags |= (byte)(0x04 | ((byte)w.QoS << 3) | (w.Retain ? 0x20 : 0));
        }

        if (packet.Password is not null)
        {
            flags |= 0x40;
        }

        if (packet.UserName is not null)
        {
            flags |= 0x80;
        }

        MqttWriter writer = Begin(output, (byte)PacketType.Connect << 4, remaining, out Span<byte> span);
        writer.WriteString(name);
        writer.WriteByte((byte)packet.ProtocolVersion);
        writer.WriteByte(flags);
        writer.WriteTwoByteInteger(packet.KeepAlive);
        if (v5)
        {
            PropertiesWriter.Write(ref writer, packet.Properties, propertiesLength);
        }

        writer.WriteString(packet.ClientId);
        if (packet.Will is { } will2)
        {
            if (v5)
            {
                PropertiesWriter.Write(ref writer, will2.Properties, willPropertiesLength);
            }

            writer.WriteBinary(will2.Topic);
            writer.WriteBinary(will2.Payload);
        }

        if (packet.UserName is not null)
        {
            writer.WriteString(packet.UserName);
        }

        if (packet.Password is not null)
        {
            writer.WriteBinary(packet.Password);
        }

        return End(output, ref writer, span);
    }

    public static int WriteConnAck(IBufferWriter<byte> output, ConnAckPacket packet, ProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = version == ProtocolVersion.V500;
        int propertiesLength = v5 ? PropertiesWriter.GetContentLength(packet.Properties) : 0;
        int remaining = 2 + (v5 ? PropertiesWriter.GetBlockLength(propertiesLength) : 0);
        MqttWriter writer = Begin(output, (byte)PacketType.ConnAck << 4, remaining, out Span<byte> span);
        writer.WriteByte(packet.SessionPresent ? (byte)1 : (byte)0);
        writer.WriteByte(v5 ? (byte)packet.ReasonCode : (byte)ToReturnCode(packet.ReasonCode));
        if (v5)
        {
            PropertiesWriter.Write(ref writer, packet.Properties, propertiesLength);
        }

        return End(output, ref writer, span);
    }

    /// <summary>The 3.1/3.1.1 return code closest to a v5 reason code [MQTT-3.2.2.3].</summary>
    public static ConnectReturnCode ToReturnCode(ReasonCode code) => code switch
    {
        ReasonCode.Success => ConnectReturnCode.Accepted,
        ReasonCode.UnsupportedProtocolVersion => ConnectReturnCode.UnacceptableProtocolVersion,
        ReasonCode.ClientIdentifierNotValid => ConnectReturnCode.IdentifierRejected,
        ReasonCode.BadUserNameOrPassword => ConnectReturnCode.BadUserNameOrPassword,
        ReasonCode.NotAuthorized or ReasonCode.Banned => ConnectReturnCode.NotAuthorized,
        _ => ConnectReturnCode.ServerUnavailable,
    };

    /// <summary>The size of a PUBLISH on the wire, to check a peer's Maximum Packet Size before writing.</summary>
    public static int GetPublishSize(scoped in OutgoingPublish publish, ProtocolVersion version)
    {
        int remaining = GetPublishRemainingLength(publish, version, out _);
        return 1 + VariableByteInteger.GetSize(remaining) + remaining;
    }

    private static int GetPublishRemainingLength(scoped in OutgoingPublish publish, ProtocolVersion version, out int propertiesLength)
    {
        int remaining = 2 + publish.TopicName.Length + publish.Payload.Length;
        if (publish.QoS != QualityOfService.AtMostOnce)
        {
            remaining += 2;
        }

        propertiesLength = 0;
        if (version == ProtocolVersion.V500)
        {
            propertiesLength = publish.Properties.Length;
            if (publish.HasMessageExpiry)
            {
                propertiesLength += 5;
            }

            if (publish.TopicAlias != 0)
            {
                propertiesLength += 3;
            }

            foreach (int id in publish.SubscriptionIdentifiers)
            {
                propertiesLength += 1 + VariableByteInteger.GetSize(id);
            }

            remaining += VariableByteInteger.GetSize(propertiesLength) + propertiesLength;
        }

        return remaining;
    }

    /// <summary>PUBLISH [MQTT-3.3]: the hot path. One span, no allocation.</summary>
    public static int WritePublish(IBufferWriter<byte> output, scoped in OutgoingPublish publish, ProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        int remaining = GetPublishRemainingLength(publish, version, out int propertiesLength);
        byte first = (byte)(((byte)PacketType.Publish << 4) | ((byte)publish.QoS << 1));
        if (publish.Dup)
        {
            first |= 0x08;
        }

        if (publish.Retain)
        {
            first |= 0x01;
        }

        MqttWriter writer = Begin(output, first, remaining, out Span<byte> span);
        writer.WriteBinary(publish.TopicName);
        if (publish.QoS != QualityOfService.AtMostOnce)
        {
            writer.WriteTwoByteInteger(publish.PacketIdentifier);
        }

        if (version == ProtocolVersion.V500)
        {
            writer.WriteVariableByteInteger(propertiesLength);
            if (publish.HasMessageExpiry)
            {
                writer.WriteByte((byte)PropertyId.MessageExpiryInterval);
                writer.WriteFourByteInteger(publish.MessageExpiryInterval);
            }

            if (publish.TopicAlias != 0)
            {
                writer.WriteByte((byte)PropertyId.TopicAlias);
                writer.WriteTwoByteInteger(publish.TopicAlias);
            }

            foreach (int id in publish.SubscriptionIdentifiers)
            {
                writer.WriteByte((byte)PropertyId.SubscriptionIdentifier);
                writer.WriteVariableByteInteger(id);
            }

            writer.WriteRaw(publish.Properties);
        }

        writer.WriteRaw(publish.Payload);
        return End(output, ref writer, span);
    }

    /// <summary>
    /// PUBACK, PUBREC, PUBREL or PUBCOMP. v5 omits a Success reason code and empty properties, the shortest
    /// form the spec allows [MQTT-3.4.2.1].
    /// </summary>
    public static int WritePublishAck(IBufferWriter<byte> output, PacketType type, ushort packetIdentifier, ProtocolVersion version, ReasonCode reasonCode = ReasonCode.Success, MqttProperties? properties = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        byte first = (byte)((byte)type << 4);
        if (type == PacketType.PubRel)
        {
            first |= 0x02;
        }

        if (version != ProtocolVersion.V500 || (reasonCode == ReasonCode.Success && properties is null))
        {
            Span<byte> small = output.GetSpan(4);
            small[0] = first;
            small[1] = 2;
            small[2] = (byte)(packetIdentifier >> 8);
            small[3] = (byte)packetIdentifier;
            output.Advance(4);
            return 4;
        }

        int propertiesLength = PropertiesWriter.GetContentLength(properties);
        int remaining = 3 + (properties is null ? 0 : PropertiesWriter.GetBlockLength(propertiesLength));
        MqttWriter writer = Begin(output, first, remaining, out Span<byte> span);
        writer.WriteTwoByteInteger(packetIdentifier);
        writer.WriteByte((byte)reasonCode);
        if (properties is not null)
        {
            PropertiesWriter.Write(ref writer, properties, propertiesLength);
        }

        return End(output, ref writer, span);
    }

    public static int WritePublishAck(IBufferWriter<byte> output, in PublishAckPacket packet, ProtocolVersion version)
        => WritePublishAck(output, packet.Type, packet.PacketIdentifier, version, packet.ReasonCode, packet.Properties);
}

public static partial class PacketEncoder
{
    /// <summary>
    /// Encodes the forwardable message properties of <paramref name="properties"/> (payload format, content type,
    /// response topic, correlation data, user properties) as the broker stores them in a message: no length
    /// prefix; expiry, topic alias and subscription identifiers are left out because they are set per delivery.
    /// </summary>
    public static byte[] EncodeMessageProperties(MqttProperties? properties)
    {
        if (properties is null)
        {
            return [];
        }

        var forwardable = new MqttProperties
        {
            PayloadFormatIndicator = properties.PayloadFormatIndicator,
            ContentType = properties.ContentType,
            ResponseTopic = properties.ResponseTopic,
            CorrelationData = properties.CorrelationData,
            UserProperties = properties.UserProperties,
        };
        int length = PropertiesWriter.GetContentLength(forwardable);
        if (length == 0)
        {
            return [];
        }

        var bytes = new byte[length];
        var writer = new MqttWriter(bytes);
        PropertiesWriter.WriteContent(ref writer, forwardable);
        return bytes;
    }
}
