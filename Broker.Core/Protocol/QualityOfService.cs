namespace Broker.Core.Protocol;

/// <summary>Quality of service levels [MQTT-4.3].</summary>
public enum QualityOfService : byte
{
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}
