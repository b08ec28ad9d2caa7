using System.Buffers;
using Broker.Core.Diagnostics;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

public static partial class PacketDecoder
{
    private const byte ConnectFlagReserved = 0x01;
    private const byte ConnectFlagCleanStart = 0x02;
    private const byte ConnectFlagWill = 0x04;
    private const byte ConnectFlagWillQoSMask = 0x18;
    private const byte ConnectFlagWillRetain = 0x20;
    private const byte ConnectFlagPassword = 0x40;
    private const byte ConnectFlagUserName = 0x80;

    /// <summary>
    /// CONNECT [MQTT-3.1]. The protocol name and level pick the version; an unknown one throws with
    /// <see cref="ReasonCode.UnsupportedProtocolVersion"/> so the caller can answer CONNACK 0x01/0x84 [MQTT-3.1.2-2].
    /// </summary>
    public static ConnectPacket DecodeConnect(ReadOnlySequence<byte> body)
    {
        var reader = new MqttReader(body);
        ReadOnlySequence<byte> name = reader.ReadUtf8String();
        byte level = reader.ReadByte();
        ProtocolVersion version = GetVersion(name, level);

        byte flags = reader.ReadByte();
        if ((flags & ConnectFlagReserved) != 0)
        {
            ProtocolThrow.Malformed("CONNECT reserved flag is set [MQTT-3.1.2-3].");
        }

        bool will = (flags & ConnectFlagWill) != 0;
        var willQoS = (QualityOfService)((flags & ConnectFlagWillQoSMask) >> 3);
        bool willRetain = (flags & ConnectFlagWillRetain) != 0;
        if (!will && (willQoS != 0 || willRetain))
        {
            ProtocolThrow.Malformed("Will QoS or Will Retain set without the Will Flag [MQTT-3.1.2-11].");
        }

        if (willQoS > QualityOfService.ExactlyOnce)
        {
            ProtocolThrow.Malformed("Will QoS 3 [MQTT-3.1.2-14].");
        }

        bool hasUserName = (flags & ConnectFlagUserName) != 0;
        bool hasPassword = (flags & ConnectFlagPassword) != 0;
        if (version != ProtocolVersion.V500 && hasPassword && !hasUserName)
        {
            ProtocolThrow.Malformed("Password flag without User Name flag [MQTT-3.1.2-22].");
        }

        var packet = new ConnectPacket
        {
            ProtocolName = version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT",
            ProtocolVersion = version,
            CleanStart = (flags & ConnectFlagCleanStart) != 0,
            KeepAlive = reader.ReadTwoByteInteger(),
        };

        if (version == ProtocolVersion.V500)
        {
            packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.Connect);
        }

        packet.ClientId = reader.ReadString();
        if (will)
        {
            MqttProperties? willProperties = version == ProtocolVersion.V500 ? PropertiesReader.Read(ref reader, PropertyContext.Will) : null;
            byte[] topic = reader.ReadUtf8String().ToArray();
            byte[] payload = reader.ReadBinaryArray();
            packet.Will = new WillMessage { Topic = topic, Payload = payload, QoS = willQoS, Retain = willRetain, Properties = willProperties };
        }

        if (hasUserName)
        {
            packet.UserName = reader.ReadString();
        }

        if (hasPassword)
        {
            packet.Password = reader.ReadBinaryArray();
        }

        reader.EnsureEnd("CONNECT");
        return packet;
    }

    private static ProtocolVersion GetVersion(in ReadOnlySequence<byte> name, byte level)
    {
        Span<byte> buffer = stackalloc byte[6];
        if (name.Length <= buffer.Length)
        {
            name.CopyTo(buffer);
            ReadOnlySpan<byte> protocolName = buffer[..(int)name.Length];
            if (protocolName.SequenceEqual("MQTT"u8))
            {
                if (level is 4 or 5)
                {
                    return (ProtocolVersion)level;
                }

                throw new ProtocolException(ReasonCode.UnsupportedProtocolVersion, DisconnectReason.ConnectRefused, $"Unsupported protocol level {level} [MQTT-3.1.2-2].");
            }

            if (protocolName.SequenceEqual("MQIsdp"u8))
            {
                if (level == 3)
                {
                    return ProtocolVersion.V310;
                }

                throw new ProtocolException(ReasonCode.UnsupportedProtocolVersion, DisconnectReason.ConnectRefused, $"Unsupported protocol level {level} for MQIsdp.");
            }
        }

        throw new ProtocolException(ReasonCode.UnsupportedProtocolVersion, DisconnectReason.ConnectRefused, "Unknown protocol name [MQTT-3.1.2-1].");
    }

    /// <summary>CONNACK [MQTT-3.2], as a client reads it.</summary>
    public static ConnAckPacket DecodeConnAck(ReadOnlySequence<byte> body, ProtocolVersion version)
    {
        var reader = new MqttReader(body);
        byte flags = reader.ReadByte();
        if ((flags & 0xFE) != 0)
        {
            ProtocolThrow.Malformed("CONNACK reserved flags are set [MQTT-3.2.2-1].");
        }

        byte code = reader.ReadByte();
        var packet = new ConnAckPacket { SessionPresent = flags == 1, ReturnCode = code, ReasonCode = (ReasonCode)code };
        if (version == ProtocolVersion.V500)
        {
            packet.Properties = PropertiesReader.Read(ref reader, PropertyContext.ConnAck);
        }
        else
        {
            packet.ReasonCode = MapReturnCode((ConnectReturnCode)code);
        }

        reader.EnsureEnd("CONNACK");
        return packet;
    }

    private static ReasonCode MapReturnCode(ConnectReturnCode code) => code switch
    {
        ConnectReturnCode.Accepted => ReasonCode.Success,
        ConnectReturnCode.UnacceptableProtocolVersion => ReasonCode.UnsupportedProtocolVersion,
        ConnectReturnCode.IdentifierRejected => ReasonCode.ClientIdentifierNotValid,
        ConnectReturnCode.ServerUnavailable => ReasonCode.ServerUnavailable,
        ConnectReturnCode.BadUserNameOrPassword => ReasonCode.BadUserNameOrPassword,
        ConnectReturnCode.NotAuthorized => ReasonCode.NotAuthorized,
        _ => ReasonCode.UnspecifiedError,
    };
}
