using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Rules;
using Broker.Core.Sessions;
using Broker.Core.Topics;

namespace Broker.Core.Connections;

internal sealed partial class MqttConnection
{
    private void HandlePacket(in FixedHeader header, ReadOnlySequence<byte> body)
    {
        if (Volatile.Read(ref _state) == StateAwaitingConnect)
        {
            if (header.Type != PacketType.Connect)
            {
                // The first packet must be CONNECT [MQTT-3.1.0-1].
                ProtocolThrow.ProtocolError($"First packet is {header.Type}, not CONNECT.");
            }

            HandleConnect(body);
            return;
        }

        switch (header.Type)
        {
            case PacketType.Publish:
                HandlePublish(header, body);
                break;
            case PacketType.PubAck:
                Counters.Increment(CounterId.PacketsPubackReceived);
                Counters.Increment(Session!.OnPubAck(PacketDecoder.DecodePublishAck(header, body, Version).PacketIdentifier) switch
                {
                    AckOutcome.Completed => CounterId.MessagesAcked,
                    AckOutcome.InUse => CounterId.PacketsPubackInuse,
                    _ => CounterId.PacketsPubackMissed,
                });

                break;
            case PacketType.PubRec:
                HandlePubRec(header, body);
                break;
            case PacketType.PubRel:
                HandlePubRel(header, body);
                break;
            case PacketType.PubComp:
                Counters.Increment(CounterId.PacketsPubcompReceived);
                switch (Session!.OnPubComp(PacketDecoder.DecodePublishAck(header, body, Version).PacketIdentifier))
                {
                    case AckOutcome.InUse:
                        Counters.Increment(CounterId.PacketsPubcompInuse);
                        break;
                    case AckOutcome.NotFound:
                        Counters.Increment(CounterId.PacketsPubcompMissed);
                        break;
                }

                break;
            case PacketType.Subscribe:
                HandleSubscribe(body);
                break;
            case PacketType.Unsubscribe:
                HandleUnsubscribe(body);
                break;
            case PacketType.PingReq:
                PacketDecoder.DecodeEmpty(header, body);
                Counters.Increment(CounterId.PacketsPingreqReceived);
                Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.PingResp });
                break;
            case PacketType.Disconnect:
                HandleDisconnect(body);
                break;
            case PacketType.Auth:
                Counters.Increment(CounterId.PacketsAuthReceived);
                PacketDecoder.DecodeAuth(body, Version);
                // No authentication method was agreed in CONNECT, so AUTH is a protocol error [MQTT-4.12.0-1].
                ProtocolThrow.ProtocolError("AUTH without an authentication method.");
                break;
            case PacketType.Connect:
                ProtocolThrow.ProtocolError("Second CONNECT [MQTT-3.1.0-2].");
                break;
            default:
                ProtocolThrow.ProtocolError($"{header.Type} is not sent by clients.");
                break;
        }
    }

    private void HandlePublish(in FixedHeader header, ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsPublishReceived);
        PublishPacket packet = PacketDecoder.DecodePublish(header, body, Version);
        Configuration.BrokerOptions options = _broker.Options;
        if (packet.QoS > options.MaximumQoS)
        {
            Counters.Increment(CounterId.PacketsPublishError);
            ProtocolThrow.Violation(ReasonCode.QoSNotSupported, "PUBLISH QoS above Maximum QoS [MQTT-3.2.2-11].");
        }

        if (packet.Retain && !options.RetainAvailable)
        {
            Counters.Increment(CounterId.PacketsPublishError);
            ProtocolThrow.Violation(ReasonCode.RetainNotSupported, "Retain is not available [MQTT-3.2.2-14].");
        }

        PublishProperties properties = packet.Properties;
        if (properties.SubscriptionIdentifierCount > 0)
        {
            ProtocolThrow.ProtocolError("A client PUBLISH carries a Subscription Identifier [MQTT-3.3.4-6].");
        }

        Span<byte> topicBuffer = stackalloc byte[256];
        byte[]? rented = null;
        Message? message = null;
        try
        {
            ReadOnlySpan<byte> topic = ResolveTopic(packet, topicBuffer, ref rented);
            if (!TopicValidator.IsValidTopicName(topic, options.MaximumTopicLevels))
            {
                Counters.Increment(CounterId.PacketsPublishError);
                ProtocolThrow.Violation(ReasonCode.TopicNameInvalid, "Invalid topic name in PUBLISH [MQTT-3.3.2-2].");
            }

            if (properties.HasResponseTopic && !IsValidResponseTopic(properties.ResponseTopic))
            {
                ProtocolThrow.ProtocolError("Response Topic is not a valid topic name [MQTT-3.3.2-14].");
            }

            _receivedMessages++;
            Counters.Increment(CounterId.MessagesReceived);
            Counters.Increment(packet.QoS switch
            {
                QualityOfService.AtMostOnce => CounterId.MessagesQos0Received,
                QualityOfService.AtLeastOnce => CounterId.MessagesQos1Received,
                _ => CounterId.MessagesQos2Received,
            });

            if (!CheckPublishAcl(topic, packet.QoS, packet.PacketIdentifier))
            {
                return;
            }

            Session session = Session!;
            if (packet.QoS == QualityOfService.ExactlyOnce)
            {
                if (session.IsAwaitingRel(packet.PacketIdentifier))
                {
                    // A retransmission of a message we already routed: acknowledge, do not route again [MQTT-4.3.3-9].
                    Counters.Increment(CounterId.PacketsPublishInuse);
                    EnqueuePublishAck(PacketType.PubRec, packet.PacketIdentifier, ReasonCode.Success, 0);
                    return;
                }

                if (session.AwaitingRelCount >= options.MaximumAwaitingRel)
                {
                    // Our Receive Maximum is max_awaiting_rel; a client past it broke flow control [MQTT-3.3.4-9].
                    Counters.Increment(CounterId.PacketsPublishDropped);
                    ProtocolThrow.Violation(ReasonCode.ReceiveMaximumExceeded, "More QoS 2 messages awaiting PUBREL than the Receive Maximum.");
                }

                session.TryBeginIncomingQoS2(packet.PacketIdentifier, _broker.TimeProvider.GetTimestamp());
            }

            message = CreateMessage(packet, topic, properties);
            Message routed = message;
            // Routing takes over our reference (see Message): from here on the message is not ours to touch.
            message = null;
            bool persistent = _broker.Persistence is not null;
            if (persistent)
            {
                MqttBroker.ResetDurableRequired();
            }

            int delivered = _broker.PublishFromClient(routed, topic);
            ReasonCode ack = delivered == 0 && IsV5 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
            if (packet.QoS != QualityOfService.AtMostOnce)
            {
                PacketType type = packet.QoS == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubRec;
                if (persistent)
                {
                    EnqueuePublishAck(type, packet.PacketIdentifier, ack, MqttBroker.DurableRequired);
                }
                else
                {
                    EnqueueAck(type, packet.PacketIdentifier, ack);
                }
            }
        }
        finally
        {
            // Set only if validation threw between renting and routing.
            message?.Release();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The topic of a PUBLISH, through the client's topic alias if it used one [MQTT-3.3.2.3.4].</summary>
    private ReadOnlySpan<byte> ResolveTopic(in PublishPacket packet, Span<byte> buffer, ref byte[]? rented)
    {
        ReadOnlySequence<byte> topicSequence = packet.TopicName;
        ReadOnlySpan<byte> topic;
        if (topicSequence.IsSingleSegment)
        {
            topic = topicSequence.FirstSpan;
        }
        else
        {
            int length = (int)topicSequence.Length;
            Span<byte> target = length <= buffer.Length ? buffer : (rented = ArrayPool<byte>.Shared.Rent(length));
            topicSequence.CopyTo(target);
            topic = target[..length];
        }

        PublishProperties properties = packet.Properties;
        if (!properties.HasTopicAlias)
        {
            if (topic.IsEmpty)
            {
                ProtocolThrow.Violation(IsV5 ? ReasonCode.ProtocolError : ReasonCode.TopicNameInvalid, "Empty topic name without a topic alias [MQTT-3.3.2-1].");
            }

            return topic;
        }

        ushort alias = properties.TopicAlias;
        if (alias == 0 || alias > _broker.Options.MaximumTopicAlias)
        {
            ProtocolThrow.Violation(ReasonCode.TopicAliasInvalid, $"Topic alias {alias} is outside 1..Topic Alias Maximum [MQTT-3.3.2-8].");
        }

        Dictionary<ushort, byte[]> inboundAliases = GetRare().InboundAliases ??= [];
        if (topic.IsEmpty)
        {
            if (!inboundAliases.TryGetValue(alias, out byte[]? mapped))
            {
                // 5.0 §3.3.4: an unmapped alias with an empty topic is a Protocol Error (0x94 is for 0 or above the maximum).
                ProtocolThrow.ProtocolError($"Topic alias {alias} was never set [MQTT-3.3.2-7].");
            }

            return mapped;
        }

        if (!inboundAliases.TryGetValue(alias, out byte[]? existing) || !existing.AsSpan().SequenceEqual(topic))
        {
            inboundAliases[alias] = topic.ToArray();
        }

        return topic;
    }

    private static bool IsValidResponseTopic(in ReadOnlySequence<byte> responseTopic)
    {
        byte[] bytes = responseTopic.ToArray();
        return TopicValidator.IsValidTopicName(bytes);
    }

    /// <summary>The routed form of a PUBLISH: pooled (one reference, the caller's), or unpooled above the largest size class.</summary>
    private Message CreateMessage(in PublishPacket packet, ReadOnlySpan<byte> topic, in PublishProperties properties)
    {
        int payloadLength = (int)packet.Payload.Length;
        int propertiesLength = properties.ForwardableLength;
        int length = topic.Length + propertiesLength + payloadLength;
        long expiresAt = 0;
        if (properties.HasMessageExpiry && properties.MessageExpiryInterval > 0)
        {
            expiresAt = _broker.TimeProvider.GetTimestamp() + (properties.MessageExpiryInterval * _broker.TimeProvider.TimestampFrequency);
        }

        long timestamp = _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        Message? message = _broker.MessagePool.Rent(length);
        byte[]? unpooled = message is null ? GC.AllocateUninitializedArray<byte>(length) : null;
        Span<byte> buffer = unpooled ?? message!.WritableBuffer;
        topic.CopyTo(buffer);
        if (propertiesLength > 0)
        {
            PacketDecoder.CopyForwardableProperties(properties, buffer.Slice(topic.Length, propertiesLength));
        }

        packet.Payload.CopyTo(buffer[(topic.Length + propertiesLength)..]);
        if (unpooled is not null)
        {
            return new Message(unpooled, length, topic.Length, propertiesLength, packet.QoS, packet.Retain)
            {
                PublisherClientId = ClientId,
                PublisherUserName = UserName,
                Publisher = Session,
                ExpiresAt = expiresAt,
                Timestamp = timestamp,
            };
        }

        message!.Initialize(topic.Length, propertiesLength, packet.QoS, packet.Retain, ClientId, UserName, Session, expiresAt, timestamp);
        return message;
    }

    /// <summary>
    /// PUBACK/PUBREC once what the PUBLISH wrote to the persistence (<paramref name="durableRequired"/>, 0 for
    /// nothing) is durable, and after any ack still waiting; at once when neither holds it back.
    /// </summary>
    private void EnqueuePublishAck(PacketType type, ushort packetId, ReasonCode reasonCode, long durableRequired)
    {
        Persistence.IBrokerPersistence? persistence = _broker.Persistence;
        DurableAcks? waiting = Volatile.Read(ref _rare)?.DurableAcks;
        if (persistence is null || ((waiting is null || waiting.IsEmpty) && durableRequired <= persistence.DurableSequence))
        {
            EnqueueAck(type, packetId, reasonCode);
            return;
        }

        (waiting ?? (GetRare().DurableAcks ??= new DurableAcks(this, persistence))).Add(durableRequired, type, packetId, reasonCode);
    }

    internal void EnqueueAck(PacketType type, ushort packetId, ReasonCode reasonCode)
        => Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Ack, PacketType = type, PacketIdentifier = packetId, ReasonCode = reasonCode });

    private void HandlePubRec(in FixedHeader header, ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsPubrecReceived);
        PublishAckPacket ack = PacketDecoder.DecodePublishAck(header, body, Version);
        switch (Session!.OnPubRec(ack.PacketIdentifier, ack.ReasonCode))
        {
            case AckOutcome.Completed:
                Counters.Increment(CounterId.MessagesAcked);
                return;
            case AckOutcome.InUse:
                Counters.Increment(CounterId.PacketsPubrecInuse);
                return;
        }

        // Unknown identifier: answer PUBREL 0x92 so the client can finish its side [MQTT-4.3.3].
        Counters.Increment(CounterId.PacketsPubrecMissed);
        EnqueueAck(PacketType.PubRel, ack.PacketIdentifier, ReasonCode.PacketIdentifierNotFound);
    }

    private void HandlePubRel(in FixedHeader header, ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsPubrelReceived);
        PublishAckPacket ack = PacketDecoder.DecodePublishAck(header, body, Version);
        ReasonCode code = ReasonCode.Success;
        if (!Session!.CompleteIncomingQoS2(ack.PacketIdentifier))
        {
            Counters.Increment(CounterId.PacketsPubrelMissed);
            code = ReasonCode.PacketIdentifierNotFound;
        }

        EnqueueAck(PacketType.PubComp, ack.PacketIdentifier, code);
    }

    private void HandleSubscribe(ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsSubscribeReceived);
        SubscribePacket packet = PacketDecoder.DecodeSubscribe(body, Version);
        int subscriptionId = packet.Properties?.SubscriptionIdentifiers is [var id, ..] ? id : 0;
        if (subscriptionId != 0 && !_broker.Options.SubscriptionIdentifierAvailable)
        {
            ProtocolThrow.Violation(ReasonCode.SubscriptionIdentifiersNotSupported, "Subscription identifiers are not available [MQTT-3.8.2.1.2].");
        }

        Session session = Session!;
        var suback = new SubAckPacket { PacketIdentifier = packet.PacketIdentifier };
        foreach (TopicSubscription subscription in packet.Subscriptions)
        {
            // Checked for the whole packet first, so a refused SUBSCRIBE leaves none of its filters subscribed.
            if (subscription.NoLocal && IsSharedFilter(subscription.TopicFilter))
            {
                ProtocolThrow.ProtocolError("No Local on a shared subscription [MQTT-3.8.3-4].");
            }
        }

        bool[]? denied = CheckSubscribeAcl(packet.Subscriptions);
        if (denied is not null && _broker.Options.AclDenyAction == Configuration.AclDenyAction.Disconnect)
        {
            RequestClose(Diagnostics.DisconnectReason.NotAuthorized, ReasonCode.NotAuthorized);
            return;
        }

        List<(SubscriptionEntry Entry, bool IsNew)>? retainedFor = null;
        bool failed = false;
        for (int i = 0; i < packet.Subscriptions.Count; i++)
        {
            TopicSubscription subscription = packet.Subscriptions[i];
            Counters.Increment(CounterId.ClientSubscribe);
            SubscriptionEntry? entry = null;
            bool isNew = false;
            ReasonCode code = denied is not null && denied[i]
                ? ReasonCode.NotAuthorized
                : _broker.Subscribe(session, subscription, subscriptionId, out entry, out isNew);
            suback.ReasonCodes.Add(code);
            if (code >= ReasonCode.UnspecifiedError)
            {
                failed = true;
                continue;
            }

            if (_broker.Rules.Has(RuleEventKind.SessionSubscribed))
            {
                _broker.Rules.OnSessionSubscription(RuleEventKind.SessionSubscribed, this, subscription.TopicFilter, subscription.QoS);
            }

            if (entry!.ShareGroup is null)
            {
                (retainedFor ??= []).Add((entry, isNew));
            }
        }

        if (failed)
        {
            Counters.Increment(CounterId.PacketsSubscribeError);
        }

        byte[] bytes = Encode(w => PacketEncoder.WriteSubAck(w, suback, Version));
        Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Encoded, Encoded = bytes, SentCounter = CounterId.PacketsSubackSent });

        if (retainedFor is not null)
        {
            foreach ((SubscriptionEntry entry, bool isNew) in retainedFor)
            {
                _broker.DeliverRetained(session, entry, isNew);
            }
        }
    }

    private static bool IsSharedFilter(string filter)
        => filter.StartsWith("$share/", StringComparison.Ordinal) || filter.StartsWith("$queue/", StringComparison.Ordinal);

    private void HandleUnsubscribe(ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsUnsubscribeReceived);
        UnsubscribePacket packet = PacketDecoder.DecodeUnsubscribe(body, Version);
        var unsuback = new UnsubAckPacket { PacketIdentifier = packet.PacketIdentifier };
        bool failed = false;
        foreach (string filter in packet.TopicFilters)
        {
            Counters.Increment(CounterId.ClientUnsubscribe);
            bool removed = _broker.Unsubscribe(Session!, filter);
            if (removed && _broker.Rules.Has(RuleEventKind.SessionUnsubscribed))
            {
                _broker.Rules.OnSessionSubscription(RuleEventKind.SessionUnsubscribed, this, filter, QualityOfService.AtMostOnce);
            }

            unsuback.ReasonCodes.Add(removed ? ReasonCode.Success : _broker.IsValidFilter(filter) ? ReasonCode.NoSubscriptionExisted : ReasonCode.TopicFilterInvalid);
            failed |= !removed;
        }

        if (failed)
        {
            Counters.Increment(CounterId.PacketsUnsubscribeError);
        }

        byte[] bytes = Encode(w => PacketEncoder.WriteUnsubAck(w, unsuback, Version));
        Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Encoded, Encoded = bytes, SentCounter = CounterId.PacketsUnsubackSent });
    }
}
