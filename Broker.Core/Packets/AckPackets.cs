using Broker.Core.Protocol;

namespace Broker.Core.Packets;

/// <summary>PUBACK, PUBREC, PUBREL or PUBCOMP [MQTT-3.4..3.7]. A struct: these are on the QoS 1/2 hot path.</summary>
public readonly struct PublishAckPacket(PacketType type, ushort packetIdentifier, ReasonCode reasonCode = ReasonCode.Success, MqttProperties? properties = null)
{
    public PacketType Type { get; } = type;

    public ushort PacketIdentifier { get; } = packetIdentifier;

    public ReasonCode ReasonCode { get; } = reasonCode;

    public MqttProperties? Properties { get; } = properties;
}

/// <summary>One entry of SUBSCRIBE [MQTT-3.8.3.1]: a filter and its subscription options.</summary>
public readonly record struct TopicSubscription(
    string TopicFilter,
    QualityOfService QoS,
    bool NoLocal = false,
    bool RetainAsPublished = false,
    RetainHandling RetainHandling = RetainHandling.SendOnSubscribe);

/// <summary>Retain Handling subscription option [MQTT-3.8.3.1].</summary>
public enum RetainHandling : byte
{
    SendOnSubscribe = 0,
    SendOnNewSubscribe = 1,
    DoNotSend = 2,
}

/// <summary>SUBSCRIBE [MQTT-3.8].</summary>
public sealed class SubscribePacket
{
    public ushort PacketIdentifier { get; set; }

    public List<TopicSubscription> Subscriptions { get; set; } = [];

    /// <summary>v5: Subscription Identifier and User Properties.</summary>
    public MqttProperties? Properties { get; set; }
}

/// <summary>SUBACK [MQTT-3.9]. 3.1.1 return codes are 0, 1, 2 and 0x80, the same bytes as the v5 reason codes.</summary>
public sealed class SubAckPacket
{
    public ushort PacketIdentifier { get; set; }

    public List<ReasonCode> ReasonCodes { get; set; } = [];

    public MqttProperties? Properties { get; set; }
}

/// <summary>UNSUBSCRIBE [MQTT-3.10].</summary>
public sealed class UnsubscribePacket
{
    public ushort PacketIdentifier { get; set; }

    public List<string> TopicFilters { get; set; } = [];

    public MqttProperties? Properties { get; set; }
}

/// <summary>UNSUBACK [MQTT-3.11]. 3.1/3.1.1 have no reason codes.</summary>
public sealed class UnsubAckPacket
{
    public ushort PacketIdentifier { get; set; }

    public List<ReasonCode> ReasonCodes { get; set; } = [];

    public MqttProperties? Properties { get; set; }
}

/// <summary>DISCONNECT [MQTT-3.14].</summary>
public sealed class DisconnectPacket
{
    public ReasonCode ReasonCode { get; set; }

    public MqttProperties? Properties { get; set; }
}

/// <summary>AUTH [MQTT-3.15], v5 only.</summary>
public sealed class AuthPacket
{
    public ReasonCode ReasonCode { get; set; }

    public MqttProperties? Properties { get; set; }
}
