using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>The fixed header of a framed packet [MQTT-2.1.1]: type, flags and the remaining length.</summary>
public readonly struct FixedHeader(PacketType type, byte flags, int remainingLength, int headerLength)
{
    public PacketType Type { get; } = type;

    /// <summary>The low nibble of the first byte (DUP/QoS/RETAIN for PUBLISH, 0b0010 for PUBREL/SUBSCRIBE/UNSUBSCRIBE).</summary>
    public byte Flags { get; } = flags;

    /// <summary>Bytes after the fixed header.</summary>
    public int RemainingLength { get; } = remainingLength;

    /// <summary>Bytes of the fixed header itself: 1 plus the variable byte integer.</summary>
    public int HeaderLength { get; } = headerLength;

    /// <summary>The whole packet on the wire, which is what Maximum Packet Size limits [MQTT-3.1.2-24].</summary>
    public int PacketLength => HeaderLength + RemainingLength;
}
