namespace Broker.Core.Metrics;

/// <summary>
/// One value per counter of the EMQX v4 metrics table (<c>GET /api/v4/metrics</c>), in the table's order.
/// Values are dense from 0 to <see cref="CounterNames.Count"/> - 1 so they index arrays directly; the count is kept
/// out of the enum so that <see cref="Enum.GetValues{TEnum}"/> lists counters only.
/// </summary>
/// <remarks>
/// <see cref="MessagesRetained"/> and <see cref="MessagesDelayed"/> are gauges of current state, not event counts:
/// see <see cref="BrokerCounters.IsGauge"/>.
/// </remarks>
public enum CounterId
{
    /// <summary><c>actions.failure</c>: Number of failure executions of the rule engine action.</summary>
    ActionsFailure,
    /// <summary><c>actions.success</c>: Number of successful executions of the rule engine action.</summary>
    ActionsSuccess,
    /// <summary><c>bytes.received</c>: Number of bytes received by the broker.</summary>
    BytesReceived,
    /// <summary><c>bytes.sent</c>: Number of bytes sent by the broker.</summary>
    BytesSent,
    /// <summary><c>client.authenticate</c>: Number of client authentications.</summary>
    ClientAuthenticate,
    /// <summary><c>client.auth.anonymous</c>: Number of clients who log in anonymously.</summary>
    ClientAuthAnonymous,
    /// <summary><c>client.connect</c>: Number of client connections.</summary>
    ClientConnect,
    /// <summary><c>client.connack</c>: Number of CONNACK packet sent.</summary>
    ClientConnack,
    /// <summary><c>client.connected</c>: Number of successful client connections.</summary>
    ClientConnected,
    /// <summary><c>client.disconnected</c>: Number of client disconnects.</summary>
    ClientDisconnected,
    /// <summary><c>client.check_acl</c>: Number of ACL rule checks.</summary>
    ClientCheckAcl,
    /// <summary><c>client.subscribe</c>: Number of client subscriptions.</summary>
    ClientSubscribe,
    /// <summary><c>client.unsubscribe</c>: Number of client unsubscriptions.</summary>
    ClientUnsubscribe,
    /// <summary><c>delivery.dropped.too_large</c>: The number of messages that were dropped because the length exceeded the limit when sending.</summary>
    DeliveryDroppedTooLarge,
    /// <summary><c>delivery.dropped.queue_full</c>: Number of messages with a non-zero QoS that were dropped because the message queue was full when sending.</summary>
    DeliveryDroppedQueueFull,
    /// <summary><c>delivery.dropped.qos0_msg</c>: Number of messages with QoS 0 that were dropped because the message queue was full when sending.</summary>
    DeliveryDroppedQos0Msg,
    /// <summary><c>delivery.dropped.expired</c>: Number of messages dropped due to message expiration on sending.</summary>
    DeliveryDroppedExpired,
    /// <summary><c>delivery.dropped.no_local</c>: Number of messages that were dropped due to the No Local subscription option when sending.</summary>
    DeliveryDroppedNoLocal,
    /// <summary><c>delivery.dropped</c>: Total number of discarded messages when sending.</summary>
    DeliveryDropped,
    /// <summary><c>messages.delayed</c>: Gauge: number of delayed-publish messages stored by the broker (set, not summed per core).</summary>
    MessagesDelayed,
    /// <summary><c>messages.delivered</c>: Number of messages forwarded to the subscription process internally by the broker.</summary>
    MessagesDelivered,
    /// <summary><c>messages.dropped</c>: Total number of messages dropped by the broker before forwarding to the subscription process.</summary>
    MessagesDropped,
    /// <summary><c>messages.dropped.expired</c>: Number of messages dropped due to message expiration when receiving.</summary>
    MessagesDroppedExpired,
    /// <summary><c>messages.dropped.no_subscribers</c>: Number of messages dropped due to no subscribers.</summary>
    MessagesDroppedNoSubscribers,
    /// <summary><c>messages.forward</c>: Number of messages forwarded to other nodes.</summary>
    MessagesForward,
    /// <summary><c>messages.publish</c>: Number of messages published in addition to system messages.</summary>
    MessagesPublish,
    /// <summary><c>messages.qos0.received</c>: Number of QoS 0 messages received from clients.</summary>
    MessagesQos0Received,
    /// <summary><c>messages.qos1.received</c>: Number of QoS 1 messages received from clients.</summary>
    MessagesQos1Received,
    /// <summary><c>messages.qos2.received</c>: Number of QoS 2 messages received from clients.</summary>
    MessagesQos2Received,
    /// <summary><c>messages.qos0.sent</c>: Number of QoS 0 messages sent to clients.</summary>
    MessagesQos0Sent,
    /// <summary><c>messages.qos1.sent</c>: Number of QoS 1 messages sent to clients.</summary>
    MessagesQos1Sent,
    /// <summary><c>messages.qos2.sent</c>: Number of QoS 2 messages sent to clients.</summary>
    MessagesQos2Sent,
    /// <summary><c>messages.received</c>: Number of messages received from clients: the sum of the QoS 0, 1 and 2 received counters.</summary>
    MessagesReceived,
    /// <summary><c>messages.sent</c>: Number of messages sent to clients: the sum of the QoS 0, 1 and 2 sent counters.</summary>
    MessagesSent,
    /// <summary><c>messages.retained</c>: Gauge: number of retained messages stored by the broker (set, not summed per core).</summary>
    MessagesRetained,
    /// <summary><c>messages.acked</c>: Number of received PUBACK and PUBREC packet.</summary>
    MessagesAcked,
    /// <summary><c>packets.received</c>: Number of received packet.</summary>
    PacketsReceived,
    /// <summary><c>packets.sent</c>: Number of sent packet.</summary>
    PacketsSent,
    /// <summary><c>packets.connect.received</c>: Number of received CONNECT packet.</summary>
    PacketsConnectReceived,
    /// <summary><c>packets.connack.auth_error</c>: Number of received CONNECT packet with failed authentication.</summary>
    PacketsConnackAuthError,
    /// <summary><c>packets.connack.error</c>: Number of received CONNECT packet with unsuccessful connections.</summary>
    PacketsConnackError,
    /// <summary><c>packets.connack.sent</c>: Number of sent CONNACK packet.</summary>
    PacketsConnackSent,
    /// <summary><c>packets.publish.received</c>: Number of received PUBLISH packet.</summary>
    PacketsPublishReceived,
    /// <summary><c>packets.publish.sent</c>: Number of sent PUBLISH packet.</summary>
    PacketsPublishSent,
    /// <summary><c>packets.publish.inuse</c>: Number of received PUBLISH packet with occupied identifiers.</summary>
    PacketsPublishInuse,
    /// <summary><c>packets.publish.auth_error</c>: Number of received PUBLISH packets with failed the ACL check.</summary>
    PacketsPublishAuthError,
    /// <summary><c>packets.publish.error</c>: Number of received PUBLISH packet that cannot be published.</summary>
    PacketsPublishError,
    /// <summary><c>packets.publish.dropped</c>: Number of messages discarded due to the receiving limit.</summary>
    PacketsPublishDropped,
    /// <summary><c>packets.puback.received</c>: Number of received PUBACK packet.</summary>
    PacketsPubackReceived,
    /// <summary><c>packets.puback.sent</c>: Number of sent PUBACK packet.</summary>
    PacketsPubackSent,
    /// <summary><c>packets.puback.inuse</c>: Number of received PUBACK packet with occupied identifiers.</summary>
    PacketsPubackInuse,
    /// <summary><c>packets.puback.missed</c>: Number of received PUBACK packets with unknown identifiers.</summary>
    PacketsPubackMissed,
    /// <summary><c>packets.pubrec.received</c>: Number of received PUBREC packet.</summary>
    PacketsPubrecReceived,
    /// <summary><c>packets.pubrec.sent</c>: Number of sent PUBREC packet.</summary>
    PacketsPubrecSent,
    /// <summary><c>packets.pubrec.inuse</c>: Number of received PUBREC packet with occupied identifiers.</summary>
    PacketsPubrecInuse,
    /// <summary><c>packets.pubrec.missed</c>: Number of received PUBREC packet with unknown identifiers.</summary>
    PacketsPubrecMissed,
    /// <summary><c>packets.pubrel.received</c>: Number of received PUBREL packet.</summary>
    PacketsPubrelReceived,
    /// <summary><c>packets.pubrel.sent</c>: Number of sent PUBREL packet.</summary>
    PacketsPubrelSent,
    /// <summary><c>packets.pubrel.missed</c>: Number of received PUBREL packets with unknown identifiers.</summary>
    PacketsPubrelMissed,
    /// <summary><c>packets.pubcomp.received</c>: Number of received PUBCOMP packet.</summary>
    PacketsPubcompReceived,
    /// <summary><c>packets.pubcomp.sent</c>: Number of sent PUBCOMP packet.</summary>
    PacketsPubcompSent,
    /// <summary><c>packets.pubcomp.inuse</c>: Number of received PUBCOMP packet with occupied identifiers.</summary>
    PacketsPubcompInuse,
    /// <summary><c>packets.pubcomp.missed</c>: Number of received PUBCOMP packets with unknown identifiers.</summary>
    PacketsPubcompMissed,
    /// <summary><c>packets.subscribe.received</c>: Number of received SUBSCRIBE packet.</summary>
    PacketsSubscribeReceived,
    /// <summary><c>packets.subscribe.error</c>: Number of received SUBSCRIBE packet with failed subscriptions.</summary>
    PacketsSubscribeError,
    /// <summary><c>packets.subscribe.auth_error</c>: Number of received SUBSCRIBE packets that failed the ACL check.</summary>
    PacketsSubscribeAuthError,
    /// <summary><c>packets.suback.sent</c>: Number of sent SUBACK packet.</summary>
    PacketsSubackSent,
    /// <summary><c>packets.unsubscribe.received</c>: Number of received UNSUBSCRIBE packet.</summary>
    PacketsUnsubscribeReceived,
    /// <summary><c>packets.unsubscribe.error</c>: Number of received UNSUBSCRIBE packet with failed unsubscriptions.</summary>
    PacketsUnsubscribeError,
    /// <summary><c>packets.unsuback.sent</c>: Number of sent UNSUBACK packet.</summary>
    PacketsUnsubackSent,
    /// <summary><c>packets.pingreq.received</c>: Number of received PINGREQ packet.</summary>
    PacketsPingreqReceived,
    /// <summary><c>packets.pingresp.sent</c>: Number of sent PINGRESP packets.</summary>
    PacketsPingrespSent,
    /// <summary><c>packets.disconnect.received</c>: Number of received DISCONNECT packet.</summary>
    PacketsDisconnectReceived,
    /// <summary><c>packets.disconnect.sent</c>: Number of sent DISCONNECT packet.</summary>
    PacketsDisconnectSent,
    /// <summary><c>packets.auth.received</c>: Number of received AUTH packet.</summary>
    PacketsAuthReceived,
    /// <summary><c>packets.auth.sent</c>: Number of sent AUTH packet.</summary>
    PacketsAuthSent,
    /// <summary><c>rules.matched</c>: Number of rule matched.</summary>
    RulesMatched,
    /// <summary><c>session.created</c>: Number of sessions created.</summary>
    SessionCreated,
    /// <summary><c>session.discarded</c>: Number of sessions dropped because Clean Session or Clean Start is true.</summary>
    SessionDiscarded,
    /// <summary><c>session.resumed</c>: Number of sessions resumed because Clean Session or Clean Start is false.</summary>
    SessionResumed,
    /// <summary><c>session.takeovered</c>: Number of sessions takeovered because Clean Session or Clean Start is false.</summary>
    SessionTakeovered,
    /// <summary><c>session.terminated</c>: Number of terminated sessions.</summary>
    SessionTerminated,
}
