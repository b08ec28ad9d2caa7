using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Tests.TestSupport;

/// <summary>
/// A PUBLISH as plain data: what <see cref="OutgoingPublish"/> carries (a ref struct, so it cannot live in a test
/// case) and what a decoded <see cref="PublishPacket"/> is compared against.
/// </summary>
public sealed class PublishModel
{
    public QualityOfService QoS { get; init; }

    public bool Dup { get; init; }

    public bool Retain { get; init; }

    public ushort PacketIdentifier { get; init; }

    public byte[] TopicName { get; init; } = [];

    public byte[] Payload { get; init; } = [];

    public bool HasMessageExpiry { get; init; }

    public uint MessageExpiryInterval { get; init; }

    public ushort TopicAlias { get; init; }

    public int[] SubscriptionIdentifiers { get; init; } = [];

    /// <summary>Pre-encoded forwardable property bytes (everything but expiry, alias and subscription ids).</summary>
    public byte[] Properties { get; init; } = [];

    public OutgoingPublish ToOutgoing() => new()
    {
        QoS = QoS,
        Dup = Dup,
        Retain = Retain,
        PacketIdentifier = PacketIdentifier,
        TopicName = TopicName,
        Payload = Payload,
        Properties = Properties,
        HasMessageExpiry = HasMessageExpiry,
        MessageExpiryInterval = MessageExpiryInterval,
        TopicAlias = TopicAlias,
        SubscriptionIdentifiers = SubscriptionIdentifiers,
    };

    /// <summary>What the broker would forward: the decoder's fields, forwardable bytes and subscription ids.</summary>
    public static PublishModel From(in PublishPacket packet)
    {
        var forwardable = new byte[packet.Properties.ForwardableLength];
        PacketDecoder.CopyForwardableProperties(packet.Properties, forwardable);
        return new PublishModel
        {
            QoS = packet.QoS,
            Dup = packet.Dup,
            Retain = packet.Retain,
            PacketIdentifier = packet.PacketIdentifier,
            TopicName = packet.TopicName.ToArray(),
            Payload = packet.Payload.ToArray(),
            HasMessageExpiry = packet.Properties.HasMessageExpiry,
            MessageExpiryInterval = packet.Properties.MessageExpiryInterval,
            TopicAlias = packet.Properties.TopicAlias,
            SubscriptionIdentifiers = PacketDecoder.GetSubscriptionIdentifiers(packet.Properties),
            Properties = forwardable,
        };
    }
}

/// <summary>Frames, decodes and encodes whole packets for tests; asserts the invariants every caller relies on.</summary>
public static class CodecDriver
{
    /// <summary>No packet size limit beyond the protocol's own.</summary>
    public const int NoLimit = int.MaxValue;

    /// <summary>Frames one packet that must fill <paramref name="buffer"/> exactly, and decodes it.</summary>
    public static object DecodeSingle(in ReadOnlySequence<byte> buffer, ProtocolVersion version, out FixedHeader header)
    {
        if (!PacketDecoder.TryReadFrame(buffer, NoLimit, out header))
        {
            throw new AssertionException($"TryReadFrame asked for more data on a complete packet {Hex.Format(buffer)}.");
        }

        Assert.That(header.PacketLength, Is.EqualTo(buffer.Length), "frame length");
        return PacketDecoder.Decode(header, buffer.Slice(header.HeaderLength, header.RemainingLength), version);
    }

    public static object DecodeSingle(byte[] bytes, ProtocolVersion version)
        => DecodeSingle(new ReadOnlySequence<byte>(bytes), version, out _);

    /// <summary>
    /// Decodes packets from the start of <paramref name="buffer"/> the way the connection loop does, until a frame
    /// is incomplete; <paramref name="consumed"/> is what the loop would pass to <c>AdvanceTo</c>.
    /// </summary>
    public static List<object> DecodeAll(ReadOnlySequence<byte> buffer, ProtocolVersion version, out long consumed, int maximumPacketSize = NoLimit)
    {
        var packets = new List<object>();
        consumed = 0;
        while (PacketDecoder.TryReadFrame(buffer, maximumPacketSize, out FixedHeader header))
        {
            packets.Add(PacketDecoder.Decode(header, buffer.Slice(header.HeaderLength, header.RemainingLength), version));
            buffer = buffer.Slice(header.PacketLength);
            consumed += header.PacketLength;
        }

        return packets;
    }

    public static List<object> DecodeAll(byte[] bytes, ProtocolVersion version, int maximumPacketSize = NoLimit)
        => DecodeAll(new ReadOnlySequence<byte>(bytes), version, out _, maximumPacketSize);

    /// <summary>Decodes and returns the <see cref="ProtocolException"/>; fails when decoding succeeds.</summary>
    public static ProtocolException DecodeFails(byte[] bytes, ProtocolVersion version, int maximumPacketSize = NoLimit)
    {
        try
        {
            List<object> packets = DecodeAll(bytes, version, maximumPacketSize);
            throw new AssertionException($"Expected a ProtocolException for {Hex.Format(bytes)} but decoded {packets.Count} packet(s): {PacketDump.Of(packets.Select(Normalize))}.");
        }
        catch (ProtocolException e)
        {
            return e;
        }
    }

    /// <summary>A decoded packet in a comparable, buffer-independent form (PUBLISH becomes a <see cref="PublishModel"/>).</summary>
    public static object Normalize(object decoded) => decoded is PublishPacket publish ? PublishModel.From(publish) : decoded;

    public static string Dump(object decoded) => PacketDump.Of(Normalize(decoded));

    /// <summary>Runs an encoder into a fresh writer; checks the returned count is what was written.</summary>
    public static byte[] Encode(Func<IBufferWriter<byte>, int> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var output = new ArrayBufferWriter<byte>(1);
        int count = write(output);
        Assert.That(count, Is.EqualTo(output.WrittenCount), "encoder's returned byte count");
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a packet model (or a normalized decoded packet) with the matching <see cref="PacketEncoder"/> method.</summary>
    public static byte[] Encode(object packet, ProtocolVersion version) => Encode(output => Write(output, packet, version));

    public static int Write(IBufferWriter<byte> output, object packet, ProtocolVersion version) => packet switch
    {
        ConnectPacket p => PacketEncoder.WriteConnect(output, p),
        ConnAckPacket p => PacketEncoder.WriteConnAck(output, p, version),
        PublishModel p => PacketEncoder.WritePublish(output, p.ToOutgoing(), version),
        PublishPacket p => PacketEncoder.WritePublish(output, PublishModel.From(p).ToOutgoing(), version),
        PublishAckPacket p => PacketEncoder.WritePublishAck(output, p, version),
        SubscribePacket p => PacketEncoder.WriteSubscribe(output, p, version),
        SubAckPacket p => PacketEncoder.WriteSubAck(output, p, version),
        UnsubscribePacket p => PacketEncoder.WriteUnsubscribe(output, p, version),
        UnsubAckPacket p => PacketEncoder.WriteUnsubAck(output, p, version),
        PacketType.PingReq => PacketEncoder.WritePingReq(output),
        PacketType.PingResp => PacketEncoder.WritePingResp(output),
        DisconnectPacket p => PacketEncoder.WriteDisconnect(output, p, version),
        AuthPacket p => PacketEncoder.WriteAuth(output, p),
        _ => throw new ArgumentException($"No encoder for {packet.GetType().Name}.", nameof(packet)),
    };
}
