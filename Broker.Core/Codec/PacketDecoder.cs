using System.Buffers;
using System.Runtime.CompilerServices;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>
/// Decodes MQTT 3.1, 3.1.1 and 5.0 packets in two steps: <c>TryReadFrame</c> frames one packet
/// (false means "need more bytes" and consumes nothing), then a Decode method parses inside the frame, where a
/// short field is a malformed packet. Every failure is a <see cref="ProtocolException"/> carrying the v5 reason code.
/// </summary>
public static partial class PacketDecoder
{
    /// <summary>
    /// Frames the packet at the start of <paramref name="buffer"/>. The size limit is checked as soon as the
    /// remaining length is known, before the body arrives [MQTT-3.1.2-24], so a client cannot make us buffer it.
    /// </summary>
    public static bool TryReadFrame(in ReadOnlySequence<byte> buffer, int maximumPacketSize, out FixedHeader header)
    {
        ReadOnlySpan<byte> span = buffer.FirstSpan;
        if (span.Length < 5 && span.Length < buffer.Length)
        {
            return TryReadFrameMultiSegment(buffer, maximumPacketSize, out header);
        }

        return TryReadFrame(span, buffer.Length, maximumPacketSize, out header);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool TryReadFrameMultiSegment(in ReadOnlySequence<byte> buffer, int maximumPacketSize, out FixedHeader header)
    {
        Span<byte> first = stackalloc byte[5];
        int length = (int)Math.Min(5, buffer.Length);
        buffer.Slice(0, length).CopyTo(first);
        return TryReadFrame(first[..length], buffer.Length, maximumPacketSize, out header);
    }

    private static bool TryReadFrame(ReadOnlySpan<byte> start, long available, int maximumPacketSize, out FixedHeader header)
    {
        header = default;
        if (start.Length < 2)
        {
            return false;
        }

        byte first = start[0];
        var type = (PacketType)(first >> 4);
        byte flags = (byte)(first & 0x0F);
        CheckFlags(type, flags);

        if (!VariableByteInteger.TryRead(start[1..], out int remainingLength, out int lengthBytes))
        {
            return false;
        }

        int headerLength = 1 + lengthBytes;
        if ((long)headerLength + remainingLength > maximumPacketSize)
        {
            ProtocolThrow.Violation(ReasonCode.PacketTooLarge, $"Packet of {headerLength + remainingLength} bytes exceeds the maximum packet size {maximumPacketSize}.");
        }

        if (available < headerLength + remainingLength)
        {
            return false;
        }

        header = new FixedHeader(type, flags, remainingLength, headerLength);
        return true;
    }

    /// <summary>The fixed header flags rules [MQTT-2.1.3-1], [MQTT-3.3.1-4].</summary>
    private static void CheckFlags(PacketType type, byte flags)
    {
        switch (type)
        {
            case PacketType.Reserved:
                ProtocolThrow.Malformed("Packet type 0 is reserved.");
                break;
            case PacketType.Publish:
                if ((flags & 0b0110) == 0b0110)
                {
                    ProtocolThrow.Malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4].");
                }

                if ((flags & 0b1110) == 0b1000)
                {
                    ProtocolThrow.Malformed("PUBLISH QoS 0 with DUP set [MQTT-3.3.1-2].");
                }

                break;
            case PacketType.PubRel:
            case PacketType.Subscribe:
            case PacketType.Unsubscribe:
                if (flags != 0b0010)
                {
                    ProtocolThrow.Malformed($"{type} fixed header flags must be 0010 [MQTT-3.6.1-1].");
                }

                break;
            default:
                if (flags != 0)
                {
                    ProtocolThrow.Malformed($"{type} fixed header flags must be 0 [MQTT-2.1.3-1].");
                }

                break;
        }
    }

    /// <summary>
    /// Decodes any packet into its object form (structs boxed). For clients, tests and tools; the broker's
    /// connection loop calls the typed methods instead.
    /// </summary>
    public static object Decode(in FixedHeader header, ReadOnlySequence<byte> body, ProtocolVersion version) => header.Type switch
    {
        PacketType.Connect => DecodeConnect(body),
        PacketType.ConnAck => DecodeConnAck(body, version),
        PacketType.Publish => DecodePublish(header, body, version),
        PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp => DecodePublishAck(header, body, version),
        PacketType.Subscribe => DecodeSubscribe(body, version),
        PacketType.SubAck => DecodeSubAck(body, version),
        PacketType.Unsubscribe => DecodeUnsubscribe(body, version),
        PacketType.UnsubAck => DecodeUnsubAck(body, version),
        PacketType.PingReq or PacketType.PingResp => DecodeEmpty(header, body),
        PacketType.Disconnect => DecodeDisconnect(body, version),
        PacketType.Auth => DecodeAuth(body, version),
        _ => ProtocolThrow.Malformed<object>("Packet type 0 is reserved."),
    };

    /// <summary>PINGREQ and PINGRESP have no variable header or payload [MQTT-3.12].</summary>
    public static PacketType DecodeEmpty(in FixedHeader header, ReadOnlySequence<byte> body)
    {
        if (body.Length != 0)
        {
            ProtocolThrow.Malformed($"{header.Type} must have remaining length 0.");
        }

        return header.Type;
    }

    private static ushort ReadPacketIdentifier(ref MqttReader reader)
    {
        ushort id = reader.ReadTwoByteInteger();
        if (id == 0)
        {
            ProtocolThrow.ProtocolError("Packet identifier 0 [MQTT-2.2.1-3].");
        }

        return id;
    }
}
