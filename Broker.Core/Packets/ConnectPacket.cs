using Broker.Core.Protocol;

namespace Broker.Core.Packets;

/// <summary>CONNECT [MQTT-3.1]. Fields outlive the frame (strings and arrays), because a session keeps them.</summary>
public sealed class ConnectPacket
{
    /// <summary>"MQTT" for 3.1.1 and 5.0, "MQIsdp" for 3.1.</summary>
    public string ProtocolName { get; set; } = "MQTT";

    public ProtocolVersion ProtocolVersion { get; set; } = ProtocolVersion.V311;

    /// <summary>Clean Session (3.1/3.1.1) or Clean Start (5.0).</summary>
    public bool CleanStart { get; set; } = true;

    /// <summary>Seconds; 0 turns keep alive off.</summary>
    public ushort KeepAlive { get; set; }

    public string ClientId { get; set; } = "";

    public string? UserName { get; set; }

    public byte[]? Password { get; set; }

    public MqttProperties? Properties { get; set; }

    /// <summary>The will message, if the Will Flag is set.</summary>
    public WillMessage? Will { get; set; }
}

/// <summary>The will carried in CONNECT [MQTT-3.1.2.5].</summary>
public sealed class WillMessage
{
    /// <summary>UTF-8 topic name bytes.</summary>
    public required byte[] Topic { get; set; }

    public byte[] Payload { get; set; } = [];

    public QualityOfService QoS { get; set; }

    public bool Retain { get; set; }

    /// <summary>v5 will properties (will delay interval, message expiry, content type, ...).</summary>
    public MqttProperties? Properties { get; set; }
}

/// <summary>CONNACK [MQTT-3.2].</summary>
public sealed class ConnAckPacket
{
    public bool SessionPresent { get; set; }

    /// <summary>The v5 reason code; for 3.1/3.1.1 the encoder maps it to a <see cref="ConnectReturnCode"/>.</summary>
    public ReasonCode ReasonCode { get; set; }

    /// <summary>The raw return code as read from a 3.1/3.1.1 CONNACK.</summary>
    public byte ReturnCode { get; set; }

    public MqttProperties? Properties { get; set; }
}
