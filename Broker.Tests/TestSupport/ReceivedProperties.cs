using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Tests.TestSupport;

/// <summary>Reads the v5 properties of a PUBLISH a client received, as fields.</summary>
public static class ReceivedProperties
{
    /// <summary>Every property of <paramref name="publish"/> (forwarded ones, expiry, subscription ids); null when it has none.</summary>
    public static MqttProperties? Of(PublishModel publish)
    {
        var bytes = new ReadOnlySequence<byte>(CodecDriver.Encode(publish, ProtocolVersion.V500));
        Assert.That(PacketDecoder.TryReadFrame(bytes, CodecDriver.NoLimit, out FixedHeader header), Is.True, "re-encoded PUBLISH frames");
        PublishPacket packet = PacketDecoder.DecodePublish(header, bytes.Slice(header.HeaderLength, header.RemainingLength), ProtocolVersion.V500);
        return PacketDecoder.GetProperties(packet.Properties);
    }
}
