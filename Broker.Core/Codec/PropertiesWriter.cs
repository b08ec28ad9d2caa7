using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>Sizes and writes a <see cref="MqttProperties"/> block (Property Length included) [MQTT-2.2.2].</summary>
internal static class PropertiesWriter
{
    /// <summary>Bytes of the properties themselves, without the Property Length prefix.</summary>
    public static int GetContentLength(MqttProperties? p)
    {
        if (p is null)
        {
            return 0;
        }

        int n = 0;
        n += Byte(p.PayloadFormatIndicator) + Four(p.MessageExpiryInterval) + Str(p.ContentType) + Str(p.ResponseTopic) + Bin(p.CorrelationData);
        if (p.SubscriptionIdentifiers is { } ids)
        {
            foreach (int id in ids)
            {
                n += 1 + VariableByteInteger.GetSize(id);
            }
        }

        n += Four(p.SessionExpiryInterval) + Str(p.AssignedClientIdentifier) + Two(p.ServerKeepAlive) + Str(p.AuthenticationMethod) + Bin(p.AuthenticationData);
        n += Byte(p.RequestProblemInformation) + Four(p.WillDelayInterval) + Byte(p.RequestResponseInformation) + Str(p.ResponseInformation);
        n += Str(p.ServerReference) + Str(p.ReasonString) + Two(p.ReceiveMaximum) + Two(p.TopicAliasMaximum) + Two(p.TopicAlias);
        n += Byte(p.MaximumQoS) + Byte(p.RetainAvailable) + Four(p.MaximumPacketSize) + Byte(p.WildcardSubscriptionAvailable);
        n += Byte(p.SubscriptionIdentifierAvailable) + Byte(p.SharedSubscriptionAvailable);
        if (p.UserProperties is { } users)
        {
            foreach (UserProperty u in users)
            {
                n += 1 + 2 + Utf8Rules.GetByteCount(u.Name) + 2 + Utf8Rules.GetByteCount(u.Value);
            }
        }

        return n;

        static int Byte(byte? v) => v.HasValue ? 2 : 0;
        static int Two(ushort? v) => v.HasValue ? 3 : 0;
        static int Four(uint? v) => v.HasValue ? 5 : 0;
        static int Str(string? v) => v is null ? 0 : 3 + Utf8Rules.GetByteCount(v);
        static int Bin(byte[]? v) => v is null ? 0 : 3 + v.Length;
    }

    /// <summary>Property Length plus properties.</summary>
    public static int GetBlockLength(int contentLength) => VariableByteInteger.GetSize(contentLength) + contentLength;

    public static void Write(ref MqttWriter w, MqttProperties? p, int contentLength)
    {
        w.WriteVariableByteInteger(contentLength);
        WriteContent(ref w, p);
    }

    /// <summary>The properties without the Property Length prefix.</summary>
    public static void WriteContent(ref MqttWriter w, MqttProperties? p)
    {
        if (p is null)
        {
            return;
        }

        Byte(ref w, PropertyId.PayloadFormatIndicator, p.PayloadFormatIndicator);
        Four(ref w, PropertyId.MessageExpiryInterval, p.MessageExpiryInterval);
        Str(ref w, PropertyId.ContentType, p.ContentType);
        Str(ref w, PropertyId.ResponseTopic, p.ResponseTopic);
        Bin(ref w, PropertyId.CorrelationData, p.CorrelationData);
        if (p.SubscriptionIdentifiers is { } ids)
        {
            foreach (int id in ids)
            {
                w.WriteByte((byte)PropertyId.SubscriptionIdentifier);
                w.WriteVariableByteInteger(id);
            }
        }

        Four(ref w, PropertyId.SessionExpiryInterval, p.SessionExpiryInterval);
        Str(ref w, PropertyId.AssignedClientIdentifier, p.AssignedClientIdentifier);
        Two(ref w, PropertyId.ServerKeepAlive, p.ServerKeepAlive);
        Str(ref w, PropertyId.AuthenticationMethod, p.AuthenticationMethod);
        Bin(ref w, PropertyId.AuthenticationData, p.AuthenticationData);
        Byte(ref w, PropertyId.RequestProblemInformation, p.RequestProblemInformation);
        Four(ref w, PropertyId.WillDelayInterval, p.WillDelayInterval);
        Byte(ref w, PropertyId.RequestResponseInformation, p.RequestResponseInformation);
        Str(ref w, PropertyId.ResponseInformation, p.ResponseInformation);
        Str(ref w, PropertyId.ServerReference, p.ServerReference);
        Str(ref w, PropertyId.ReasonString, p.ReasonString);
        Two(ref w, PropertyId.ReceiveMaximum, p.ReceiveMaximum);
        Two(ref w, PropertyId.TopicAliasMaximum, p.TopicAliasMaximum);
        Two(ref w, PropertyId.TopicAlias, p.TopicAlias);
        Byte(ref w, PropertyId.MaximumQoS, p.MaximumQoS);
        Byte(ref w, PropertyId.RetainAvailable, p.RetainAvailable);
        Four(ref w, PropertyId.MaximumPacketSize, p.MaximumPacketSize);
        Byte(ref w, PropertyId.WildcardSubscriptionAvailable, p.WildcardSubscriptionAvailable);
        Byte(ref w, PropertyId.SubscriptionIdentifierAvailable, p.SubscriptionIdentifierAvailable);
        Byte(ref w, PropertyId.SharedSubscriptionAvailable, p.SharedSubscriptionAvailable);
        if (p.UserProperties is { } users)
        {
            foreach (UserProperty u in users)
            {
                w.WriteByte((byte)PropertyId.UserProperty);
                w.WriteString(u.Name);
                w.WriteString(u.Value);
            }
        }

        static void Byte(ref MqttWriter w, PropertyId id, byte? v)
        {
            if (v.HasValue)
            {
                w.WriteByte((byte)id);
                w.WriteByte(v.Value);
            }
        }

        static void Two(ref MqttWriter w, PropertyId id, ushort? v)
        {
            if (v.HasValue)
            {
                w.WriteByte((byte)id);
                w.WriteTwoByteInteger(v.Value);
            }
        }

        static void Four(ref MqttWriter w, PropertyId id, uint? v)
        {
            if (v.HasValue)
            {
                w.WriteByte((byte)id);
                w.WriteFourByteInteger(v.Value);
            }
        }

        static void Str(ref MqttWriter w, PropertyId id, string? v)
        {
            if (v is not null)
            {
                w.WriteByte((byte)id);
                w.WriteString(v);
            }
        }

        static void Bin(ref MqttWriter w, PropertyId id, byte[]? v)
        {
            if (v is not null)
            {
                w.WriteByte((byte)id);
                w.WriteBinary(v);
            }
        }
    }
}
