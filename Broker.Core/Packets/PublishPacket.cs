using System.Buffers;
using Broker.Core.Protocol;

namespace Broker.Core.Packets;

/// <summary>
/// A decoded PUBLISH [MQTT-3.3]: a view over the read buffer, valid until the pipe is advanced past it.
/// Topic and payload are slices; v5 properties are validated and the ones the broker acts on are parsed.
/// </summary>
public readonly struct PublishPacket
{
    public QualityOfService QoS { get; init; }

    public bool Dup { get; init; }

    public bool Retain { get; init; }

    /// <summary>0 for QoS 0.</summary>
    public ushort PacketIdentifier { get; init; }

    /// <summary>UTF-8 topic name, validated as a string (not yet as a topic).</summary>
    public ReadOnlySequence<byte> TopicName { get; init; }

    public ReadOnlySequence<byte> Payload { get; init; }

    public PublishProperties Properties { get; init; }
}

/// <summary>
/// The v5 properties of a PUBLISH. <see cref="Raw"/> is the validated property block; the broker forwards
/// <see cref="ForwardableLength"/> bytes of it (all but Message Expiry, Topic Alias and Subscription Identifier,
/// which it re-encodes per delivery [MQTT-3.3.4]).
/// </summary>
public readonly struct PublishProperties
{
    public ReadOnlySequence<byte> Raw { get; init; }

    public bool HasMessageExpiry { get; init; }

    public uint MessageExpiryInterval { get; init; }

    /// <summary>0 when absent; the decoder reports an explicit 0 through <see cref="HasTopicAlias"/>.</summary>
    public ushort TopicAlias { get; init; }

    public bool HasTopicAlias { get; init; }

    public bool HasPayloadFormat { get; init; }

    public byte PayloadFormatIndicator { get; init; }

    public bool HasResponseTopic { get; init; }

    /// <summary>The Response Topic value, to be checked as a topic name by the broker [MQTT-3.3.2-13].</summary>
    public ReadOnlySequence<byte> ResponseTopic { get; init; }

    public int SubscriptionIdentifierCount { get; init; }

    /// <summary>Bytes of <see cref="Raw"/> that belong to forwardable properties.</summary>
    public int ForwardableLength { get; init; }
}

/// <summary>
/// A PUBLISH to encode. Spans point at the broker's stored message; nothing is copied before the output buffer.
/// <see cref="Properties"/> is pre-encoded v5 property bytes (the forwardable ones); expiry, alias and
/// subscription identifiers are written by the encoder from the fields.
/// </summary>
public ref struct OutgoingPublish
{
    public QualityOfService QoS { get; set; }
    public bool Dup { get; set; }
    public bool Retain { get; set; }
    public ushort PacketIdentifier { get; set; }
    public ReadOnlySpan<byte> TopicName { get; set; }
    public ReadOnlySpan<byte> Payload { get; set; }
    public ReadOnlySpan<byte> Properties { get; set; }
    public bool HasMessageExpiry { get; set; }
    public uint MessageExpiryInterval { get; set; }
    /// <summary>0 for none.</summary>
    public ushort TopicAlias { get; set; }
    public ReadOnlySpan<int> SubscriptionIdentifiers { get; set; }
}
