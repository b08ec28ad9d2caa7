namespace Broker.Core.Packets;

/// <summary>A v5 User Property [MQTT-3.1.2.3.8]: a UTF-8 string pair; names may repeat and order is kept.</summary>
public readonly record struct UserProperty(string Name, string Value);

/// <summary>
/// The v5 properties of a control packet other than the hot PUBLISH path, decoded into fields.
/// A null field was absent. Which properties a packet may carry is checked by the decoder
/// (<see cref="PropertyContext"/>); the encoder writes whatever is set.
/// </summary>
public sealed class MqttProperties
{
    public byte? PayloadFormatIndicator { get; set; }

    public uint? MessageExpiryInterval { get; set; }

    public string? ContentType { get; set; }

    public string? ResponseTopic { get; set; }

    public byte[]? CorrelationData { get; set; }

    /// <summary>SUBSCRIBE carries at most one; a PUBLISH to a client may carry several.</summary>
    public List<int>? SubscriptionIdentifiers { get; set; }

    public uint? SessionExpiryInterval { get; set; }

    public string? AssignedClientIdentifier { get; set; }

    public ushort? ServerKeepAlive { get; set; }

    public string? AuthenticationMethod { get; set; }

    public byte[]? AuthenticationData { get; set; }

    public byte? RequestProblemInformation { get; set; }

    public uint? WillDelayInterval { get; set; }

    public byte? RequestResponseInformation { get; set; }

    public string? ResponseInformation { get; set; }

    public string? ServerReference { get; set; }

    public string? ReasonString { get; set; }

    public ushort? ReceiveMaximum { get; set; }

    public ushort? TopicAliasMaximum { get; set; }

    public ushort? TopicAlias { get; set; }

    public byte? MaximumQoS { get; set; }

    public byte? RetainAvailable { get; set; }

    public List<UserProperty>? UserProperties { get; set; }

    public uint? MaximumPacketSize { get; set; }

    public byte? WildcardSubscriptionAvailable { get; set; }

    public byte? SubscriptionIdentifierAvailable { get; set; }

    public byte? SharedSubscriptionAvailable { get; set; }

    public void AddUserProperty(string name, string value) => (UserProperties ??= []).Add(new UserProperty(name, value));
}

/// <summary>Where a property appears; the decoder rejects a property outside its contexts [MQTT-2.2.2.2].</summary>
[Flags]
public enum PropertyContext
{
    None = 0,
    Connect = 1 << 0,
    ConnAck = 1 << 1,
    Publish = 1 << 2,
    Will = 1 << 3,
    /// <summary>PUBACK, PUBREC, PUBREL and PUBCOMP.</summary>
    PublishAck = 1 << 4,
    Subscribe = 1 << 5,
    SubAck = 1 << 6,
    Unsubscribe = 1 << 7,
    UnsubAck = 1 << 8,
    Disconnect = 1 << 9,
    Auth = 1 << 10,
    All = (1 << 11) - 1,
}
