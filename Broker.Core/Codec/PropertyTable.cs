using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>The data type of a property value [MQTT-2.2.2.2].</summary>
internal enum PropertyType : byte
{
    Invalid = 0,
    Byte,
    TwoByteInteger,
    FourByteInteger,
    VariableByteInteger,
    Utf8String,
    BinaryData,
    Utf8StringPair,
}

/// <summary>Type and permitted packets of every property identifier, as the table in [MQTT-2.2.2.2].</summary>
internal static class PropertyTable
{
    private static readonly PropertyType[] s_types = BuildTypes();
    private static readonly PropertyContext[] s_contexts = BuildContexts();

    public static PropertyType GetType(byte id) => s_types[id];

    public static bool IsAllowed(byte id, PropertyContext context) => (s_contexts[id] & context) != 0;

    private static PropertyType[] BuildTypes()
    {
        var t = new PropertyType[256];
        t[(int)PropertyId.PayloadFormatIndicator] = PropertyType.Byte;
        t[(int)PropertyId.MessageExpiryInterval] = PropertyType.FourByteInteger;
        t[(int)PropertyId.ContentType] = PropertyType.Utf8String;
        t[(int)PropertyId.ResponseTopic] = PropertyType.Utf8String;
        t[(int)PropertyId.CorrelationData] = PropertyType.BinaryData;
        t[(int)PropertyId.SubscriptionIdentifier] = PropertyType.VariableByteInteger;
        t[(int)PropertyId.SessionExpiryInterval] = PropertyType.FourByteInteger;
        t[(int)PropertyId.AssignedClientIdentifier] = PropertyType.Utf8String;
        t[(int)PropertyId.ServerKeepAlive] = PropertyType.TwoByteInteger;
        t[(int)PropertyId.AuthenticationMethod] = PropertyType.Utf8String;
        t[(int)PropertyId.AuthenticationData] = PropertyType.BinaryData;
        t[(int)PropertyId.RequestProblemInformation] = PropertyType.Byte;
        t[(int)PropertyId.WillDelayInterval] = PropertyType.FourByteInteger;
        t[(int)PropertyId.RequestResponseInformation] = PropertyType.Byte;
        t[(int)PropertyId.ResponseInformation] = PropertyType.Utf8String;
        t[(int)PropertyId.ServerReference] = PropertyType.Utf8String;
        t[(int)PropertyId.ReasonString] = PropertyType.Utf8String;
        t[(int)PropertyId.ReceiveMaximum] = PropertyType.TwoByteInteger;
        t[(int)PropertyId.TopicAliasMaximum] = PropertyType.TwoByteInteger;
        t[(int)PropertyId.TopicAlias] = PropertyType.TwoByteInteger;
        t[(int)PropertyId.MaximumQoS] = PropertyType.Byte;
        t[(int)PropertyId.RetainAvailable] = PropertyType.Byte;
        t[(int)PropertyId.UserProperty] = PropertyType.Utf8StringPair;
        t[(int)PropertyId.MaximumPacketSize] = PropertyType.FourByteInteger;
        t[(int)PropertyId.WildcardSubscriptionAvailable] = PropertyType.Byte;
        t[(int)PropertyId.SubscriptionIdentifierAvailable] = PropertyType.Byte;
        t[(int)PropertyId.SharedSubscriptionAvailable] = PropertyType.Byte;
        return t;
    }

    private static PropertyContext[] BuildContexts()
    {
        const PropertyContext Message = PropertyContext.Publish | PropertyContext.Will;
        const PropertyContext ReasonString = PropertyContext.ConnAck | PropertyContext.PublishAck | PropertyContext.SubAck
            | PropertyContext.UnsubAck | PropertyContext.Disconnect | PropertyContext.Auth;
        var c = new PropertyContext[256];
        c[(int)PropertyId.PayloadFormatIndicator] = Message;
        c[(int)PropertyId.MessageExpiryInterval] = Message;
        c[(int)PropertyId.ContentType] = Message;
        c[(int)PropertyId.ResponseTopic] = Message;
        c[(int)PropertyId.CorrelationData] = Message;
        c[(int)PropertyId.SubscriptionIdentifier] = PropertyContext.Publish | PropertyContext.Subscribe;
        c[(int)PropertyId.SessionExpiryInterval] = PropertyContext.Connect | PropertyContext.ConnAck | PropertyContext.Disconnect;
        c[(int)PropertyId.AssignedClientIdentifier] = PropertyContext.ConnAck;
        c[(int)PropertyId.ServerKeepAlive] = PropertyContext.ConnAck;
        c[(int)PropertyId.AuthenticationMethod] = PropertyContext.Connect | PropertyContext.ConnAck | PropertyContext.Auth;
        c[(int)PropertyId.AuthenticationData] = PropertyContext.Connect | PropertyContext.ConnAck | PropertyContext.Auth;
        c[(int)PropertyId.RequestProblemInformation] = PropertyContext.Connect;
        c[(int)PropertyId.WillDelayInterval] = PropertyContext.Will;
        c[(int)PropertyId.RequestResponseInformation] = PropertyContext.Connect;
        c[(int)PropertyId.ResponseInformation] = PropertyContext.ConnAck;
        c[(int)PropertyId.ServerReference] = PropertyContext.ConnAck | PropertyContext.Disconnect;
        c[(int)PropertyId.ReasonString] = ReasonString;
        c[(int)PropertyId.ReceiveMaximum] = PropertyContext.Connect | PropertyContext.ConnAck;
        c[(int)PropertyId.TopicAliasMaximum] = PropertyContext.Connect | PropertyContext.ConnAck;
        c[(int)PropertyId.TopicAlias] = PropertyContext.Publish;
        c[(int)PropertyId.MaximumQoS] = PropertyContext.ConnAck;
        c[(int)PropertyId.RetainAvailable] = PropertyContext.ConnAck;
        c[(int)PropertyId.UserProperty] = PropertyContext.All;
        c[(int)PropertyId.MaximumPacketSize] = PropertyContext.Connect | PropertyContext.ConnAck;
        c[(int)PropertyId.WildcardSubscriptionAvailable] = PropertyContext.ConnAck;
        c[(int)PropertyId.SubscriptionIdentifierAvailable] = PropertyContext.ConnAck;
        c[(int)PropertyId.SharedSubscriptionAvailable] = PropertyContext.ConnAck;
        return c;
    }
}
