using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>
/// Reads a v5 property block [MQTT-2.2.2]: the Property Length, then identifier/value pairs. Rejects an identifier
/// not allowed in the packet (malformed), a repeated identifier other than User Property and Subscription Identifier
/// (protocol error) and out-of-range values (protocol error).
/// </summary>
internal static class PropertiesReader
{
    /// <summary>Reads the block; returns null when it is empty, so packets without properties allocate nothing.</summary>
    public static MqttProperties? Read(ref MqttReader reader, PropertyContext context)
    {
        int length = reader.ReadVariableByteInteger();
        if (length == 0)
        {
            return null;
        }

        var block = new MqttReader(reader.ReadSlice(length));
        var properties = new MqttProperties();
        ulong seen = 0;
        while (!block.End)
        {
            byte id = ReadIdentifier(ref block);
            CheckAllowedOnce(id, context, ref seen);
            ReadValue(ref block, id, properties);
        }

        return properties;
    }

    /// <summary>
    /// A property identifier is a variable byte integer [MQTT-2.2.2.2]; every defined one fits in a byte, so a larger
    /// value maps to 0 (never valid) instead of being truncated onto a real identifier (257 would read as 0x01).
    /// </summary>
    public static byte ReadIdentifier(ref MqttReader reader) => (byte)reader.ReadVariableByteInteger().ClampToByte();

    /// <summary>Checks the identifier is known, allowed in <paramref name="context"/> and not repeated.</summary>
    public static void CheckAllowedOnce(byte id, PropertyContext context, ref ulong seen)
    {
        if (PropertyTable.GetType(id) == PropertyType.Invalid || !PropertyTable.IsAllowed(id, context))
        {
            ProtocolThrow.Malformed($"Property 0x{id:X2} is not valid in this packet.");
        }

        if (id is (byte)PropertyId.UserProperty or (byte)PropertyId.SubscriptionIdentifier)
        {
            return;
        }

        ulong bit = 1UL << id;
        if ((seen & bit) != 0)
        {
            ProtocolThrow.ProtocolError($"Property 0x{id:X2} appears more than once.");
        }

        seen |= bit;
    }

    private static void ReadValue(ref MqttReader r, byte id, MqttProperties p)
    {
        switch ((PropertyId)id)
        {
            case PropertyId.PayloadFormatIndicator: p.PayloadFormatIndicator = ReadFlag(ref r, id); break;
            case PropertyId.MessageExpiryInterval: p.MessageExpiryInterval = r.ReadFourByteInteger(); break;
            case PropertyId.ContentType: p.ContentType = r.ReadString(); break;
            case PropertyId.ResponseTopic: p.ResponseTopic = r.ReadString(); break;
            case PropertyId.CorrelationData: p.CorrelationData = r.ReadBinaryArray(); break;
            case PropertyId.SubscriptionIdentifier:
                int subscriptionId = r.ReadVariableByteInteger();
                if (subscriptionId == 0)
                {
                    ProtocolThrow.ProtocolError("Subscription Identifier 0 [MQTT-3.8.2.1.2].");
                }

                (p.SubscriptionIdentifiers ??= []).Add(subscriptionId);
                break;
            case PropertyId.SessionExpiryInterval: p.SessionExpiryInterval = r.ReadFourByteInteger(); break;
            case PropertyId.AssignedClientIdentifier: p.AssignedClientIdentifier = r.ReadString(); break;
            case PropertyId.ServerKeepAlive: p.ServerKeepAlive = r.ReadTwoByteInteger(); break;
            case PropertyId.AuthenticationMethod: p.AuthenticationMethod = r.ReadString(); break;
            case PropertyId.AuthenticationData: p.AuthenticationData = r.ReadBinaryArray(); break;
            case PropertyId.RequestProblemInformation: p.RequestProblemInformation = ReadFlag(ref r, id); break;
            case PropertyId.WillDelayInterval: p.WillDelayInterval = r.ReadFourByteInteger(); break;
            case PropertyId.RequestResponseInformation: p.RequestResponseInformation = ReadFlag(ref r, id); break;
            case PropertyId.ResponseInformation: p.ResponseInformation = r.ReadString(); break;
            case PropertyId.ServerReference: p.ServerReference = r.ReadString(); break;
            case PropertyId.ReasonString: p.ReasonString = r.ReadString(); break;
            case PropertyId.ReceiveMaximum: p.ReceiveMaximum = ReadNonZeroTwoByte(ref r, id); break;
            case PropertyId.TopicAliasMaximum: p.TopicAliasMaximum = r.ReadTwoByteInteger(); break;
            case PropertyId.TopicAlias: p.TopicAlias = r.ReadTwoByteInteger(); break;
            case PropertyId.MaximumQoS: p.MaximumQoS = ReadFlag(ref r, id); break;
            case PropertyId.RetainAvailable: p.RetainAvailable = ReadFlag(ref r, id); break;
            case PropertyId.UserProperty:
                string name = r.ReadString();
                p.AddUserProperty(name, r.ReadString());
                break;
            case PropertyId.MaximumPacketSize:
                uint max = r.ReadFourByteInteger();
                if (max == 0)
                {
                    ProtocolThrow.ProtocolError("Maximum Packet Size 0 [MQTT-3.1.2.3.6].");
                }

                p.MaximumPacketSize = max;
                break;
            case PropertyId.WildcardSubscriptionAvailable: p.WildcardSubscriptionAvailable = ReadFlag(ref r, id); break;
            case PropertyId.SubscriptionIdentifierAvailable: p.SubscriptionIdentifierAvailable = ReadFlag(ref r, id); break;
            case PropertyId.SharedSubscriptionAvailable: p.SharedSubscriptionAvailable = ReadFlag(ref r, id); break;
            default: ProtocolThrow.Malformed($"Unknown property 0x{id:X2}."); break;
        }
    }

    /// <summary>The one-byte properties that hold 0 or 1; any other value is a protocol error.</summary>
    private static byte ReadFlag(ref MqttReader r, byte id)
    {
        byte value = r.ReadByte();
        if (value > 1)
        {
            ProtocolThrow.ProtocolError($"Property 0x{id:X2} must be 0 or 1.");
        }

        return value;
    }

    private static ushort ReadNonZeroTwoByte(ref MqttReader r, byte id)
    {
        ushort value = r.ReadTwoByteInteger();
        if (value == 0)
        {
            ProtocolThrow.ProtocolError($"Property 0x{id:X2} must not be 0.");
        }

        return value;
    }

    /// <summary>Skips one value of the given type, validating strings (used by the PUBLISH fast path).</summary>
    public static void SkipValue(ref MqttReader r, byte id)
    {
        switch (PropertyTable.GetType(id))
        {
            case PropertyType.Byte: r.ReadByte(); break;
            case PropertyType.TwoByteInteger: r.ReadTwoByteInteger(); break;
            case PropertyType.FourByteInteger: r.ReadFourByteInteger(); break;
            case PropertyType.VariableByteInteger: r.ReadVariableByteInteger(); break;
            case PropertyType.Utf8String: r.ReadUtf8String(); break;
            case PropertyType.BinaryData: r.ReadBinary(); break;
            case PropertyType.Utf8StringPair: r.ReadUtf8String(); r.ReadUtf8String(); break;
            default: ProtocolThrow.Malformed($"Unknown property 0x{id:X2}."); break;
        }
    }

    private static int ClampToByte(this int id) => id > byte.MaxValue ? 0 : id;
}
