using Broker.Core.Codec;
using Broker.Core.Packets;

namespace Broker.Tests.TestSupport;

/// <summary>Builds frames from parts, computing the remaining length, for table-driven rows that vary one field.</summary>
public static class PacketBuilder
{
    /// <summary>First byte, remaining length, then the parts.</summary>
    public static byte[] Frame(byte first, params byte[][] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        byte[] body = [.. parts.SelectMany(p => p)];
        var length = new byte[4];
        int n = VariableByteInteger.Write(length, body.Length);
        return [first, .. length.AsSpan(0, n), .. body];
    }

    public static byte[] Frame(byte first, string body) => Frame(first, Hex.Parse(body));

    /// <summary>A v5 property block: Property Length, then the properties.</summary>
    public static byte[] Properties(byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var length = new byte[4];
        int n = VariableByteInteger.Write(length, content.Length);
        return [.. length.AsSpan(0, n), .. content];
    }

    public static byte[] Properties(string content) => Properties(Hex.Parse(content));

    /// <summary>A minimal valid v5 packet of the given kind carrying <paramref name="propertyContent"/> in its property block.</summary>
    public static byte[] WithProperties(PropertyContext context, byte[] propertyContent)
    {
        byte[] block = Properties(propertyContent);
        return context switch
        {
            PropertyContext.Connect => Frame(0x10, Hex.Parse("00 04 'MQTT' 05 02 00 0A"), block, Hex.Parse("00 01 'c'")),
            PropertyContext.ConnAck => Frame(0x20, Hex.Parse("00 00"), block),
            PropertyContext.Publish => Frame(0x32, Hex.Parse("00 03 'a/b' 00 01"), block, Hex.Parse("'p'")),
            PropertyContext.Will => Frame(0x10, Hex.Parse("00 04 'MQTT' 05 06 00 0A 00 00 01 'c'"), block, Hex.Parse("00 01 't' 00 01 'm'")),
            PropertyContext.PublishAck => Frame(0x40, Hex.Parse("00 01 00"), block),
            PropertyContext.Subscribe => Frame(0x82, Hex.Parse("00 01"), block, Hex.Parse("00 01 'a' 00")),
            PropertyContext.SubAck => Frame(0x90, Hex.Parse("00 01"), block, Hex.Parse("00")),
            PropertyContext.Unsubscribe => Frame(0xA2, Hex.Parse("00 01"), block, Hex.Parse("00 01 'a'")),
            PropertyContext.UnsubAck => Frame(0xB0, Hex.Parse("00 01"), block, Hex.Parse("00")),
            PropertyContext.Disconnect => Frame(0xE0, Hex.Parse("00"), block),
            PropertyContext.Auth => Frame(0xF0, Hex.Parse("18"), block),
            _ => throw new ArgumentOutOfRangeException(nameof(context), context, "One packet kind at a time."),
        };
    }

    public static byte[] WithProperties(PropertyContext context, string propertyContent) => WithProperties(context, Hex.Parse(propertyContent));

    /// <summary>The eleven places a property block appears.</summary>
    public static readonly PropertyContext[] Contexts =
    [
        PropertyContext.Connect, PropertyContext.ConnAck, PropertyContext.Publish, PropertyContext.Will,
        PropertyContext.PublishAck, PropertyContext.Subscribe, PropertyContext.SubAck, PropertyContext.Unsubscribe,
        PropertyContext.UnsubAck, PropertyContext.Disconnect, PropertyContext.Auth,
    ];
}
