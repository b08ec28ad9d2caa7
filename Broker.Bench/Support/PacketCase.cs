namespace Broker.Bench.Support;

/// <summary>The packet shapes the codec suites cover; <c>V5</c> ones carry properties.</summary>
public enum PacketCase
{
    ConnectV311,
    ConnectV5,
    ConnAckV5,
    PublishQoS0V311,
    PublishQoS0V5Props,
    PublishQoS1V311,
    PublishQoS1V5Props,
    PubAck,
    PubRecV5Reason,
    PubRel,
    PubComp,
    SubscribeV5,
    SubAckV5,
    UnsubscribeV5,
    UnsubAckV5,
    PingReq,
    PingResp,
    DisconnectV5,
    AuthV5,
}
