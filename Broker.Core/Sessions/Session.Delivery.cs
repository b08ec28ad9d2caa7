using Broker.Core.Connections;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Rules;
using Broker.Core.Topics;

namespace Broker.Core.Sessions;

/// <summary>
/// A message waiting in a session's queue, with the delivery options of the subscription that matched, and the
/// shared group that picked this session (null for a normal subscription), so that it can go to another member if
/// this session ends before the client acknowledges it.
/// </summary>
/// <remarks><see cref="StoreId"/> is the message's id in the broker's persistence (0: not stored).</remarks>
internal readonly record struct QueuedMessage(
    Message Message, QualityOfService QoS, bool Retain, int[]? SubscriptionIdentifiers, SharedGroup<Session, SubscriptionOptions>? SharedGroup = null,
    long StoreId = 0);

/// <summary>Where an outgoing QoS 1/2 message is in its handshake [MQTT-4.3.2], [MQTT-4.3.3].</summary>
internal enum InflightState : byte
{
    AwaitingPubAck,
    AwaitingPubRec,
    AwaitingPubComp,
}

/// <summary>An unacknowledged QoS 1/2 delivery; owns one reference to its message until it leaves the window.</summary>
internal struct InflightEntry
{
    public QueuedMessage Delivery;
    public InflightState State;
    public long SentAt;
    public long Sequence;

    /// <summary>Held back on reconnect because the client's Receive Maximum is smaller than the inflight count.</summary>
    public bool Deferred;
}

public sealed partial class Session
{
    /// <summary>Inflight entries with <see cref="InflightEntry.Deferred"/> set.</summary>
    private int _deferredCount;

    /// <summary>
    /// Delivers one routed message. QoS 0 to a connected client skips the session lock (the outbound queue has its
    /// own); QoS 1/2 take an inflight slot and a packet identifier, or wait in the queue when the window is full.
    /// </summary>
    /// <remarks>
    /// Consumes one reference to <paramref name="message"/> that the caller took for this delivery: it passes to the
    /// outbound item, inflight entry or queue entry that holds the message next, or is released if it is dropped.
    /// The private send and enqueue helpers below follow the same rule for the <see cref="QueuedMessage"/> they get.
    /// </remarks>
    // $events/message_delivered: one volatile read of the rule engine's mask when no rule listens.
    private void OnDelivered(Message message, QualityOfService qos)
    {
        if ((_broker.Rules.ActiveMask & (1 << (int)RuleEventKind.MessageDelivered)) != 0 && !message.FromRule)
        {
            _broker.Rules.OnMessageToClient(RuleEventKind.MessageDelivered, this, message, qos);
        }
    }

    internal void Deliver(Message message, QualityOfService qos, bool retain, int[]? subscriptionIds, SharedGroup<Session, SubscriptionOptions>? sharedGroup = null)
    {
        BrokerCounters counters = _broker.Counters;
        long now = _broker.TimeProvider.GetTimestamp();
        if (message.IsExpired(now))
        {
            message.Release();
            counters.Increment(CounterId.DeliveryDroppedExpired);
            counters.Increment(CounterId.DeliveryDropped);
            return;
        }

        var delivery = new QueuedMessage(message, qos, retain, subscriptionIds, sharedGroup);
        if (qos == QualityOfService.AtMostOnce)
        {
            MqttConnection? connection = Volatile.Read(ref _connection);
            if (connection is not null)
            {
                counters.Increment(CounterId.MessagesDelivered);
                OnDelivered(message, qos);
                SendQoS0(connection, delivery);
                return;
            }
        }

        lock (Sync)
        {
            if (IsTerminated)
            {
                // Routed just before the session left the trie: nobody will ever read its queue.
                message.Release();
                return;
            }

            counters.Increment(CounterId.MessagesDelivered);
            OnDelivered(message, qos);
            if (qos != QualityOfService.AtMostOnce && ExpiryInterval != 0 && _broker.Persistence is { } persistence)
            {
                // A persistent session's QoS 1/2 message is written before the publisher's PUBACK/PUBREC (the read loop
                // defers it until this write is durable), connected or not: a crash must not lose an acknowledged message.
                long id = persistence.MessageQueued(ClientId, message, qos, retain, _broker.ToUnixMilliseconds(message.ExpiresAt));
                MqttBroker.RequireDurable(id);
                delivery = delivery with { StoreId = id };
            }

            MqttConnection? connection = _connection;
            if (connection is null)
            {
                if (qos == QualityOfService.AtMostOnce && !_broker.Options.QueueQoS0Messages)
                {
                    message.Release();
                    counters.Increment(CounterId.DeliveryDroppedQos0Msg);
                    counters.Increment(CounterId.DeliveryDropped);
                    return;
                }

                EnqueueLocked(delivery);
            }
            else if (qos == QualityOfService.AtMostOnce)
            {
                SendQoS0(connection, delivery);
            }
            else if (_inflight.Count < connection.OutboundWindow && _queue.Count == 0)
            {
                SendNewLocked(connection, delivery, now);
            }
            else
            {
                EnqueueLocked(delivery);
            }
        }
    }

    private void SendQoS0(MqttConnection connection, in QueuedMessage delivery)
    {
        if (!connection.FitsPacketSize(delivery))
        {
            ForgetStored(delivery);
            delivery.Message.Release();
            CountDropped(CounterId.DeliveryDroppedTooLarge);
            return;
        }

        var item = new OutboundItem
        {
            Kind = OutboundKind.Publish,
            QoS = QualityOfService.AtMostOnce,
            Retain = delivery.Retain,
            Message = delivery.Message,
            SubscriptionIdentifiers = delivery.SubscriptionIdentifiers,
        };
        // The item owns the delivery's reference; the writer releases it once encoded.
        if (!connection.Outbound.TryEnqueueQoS0(item, connection.QoS0QueueLimit, connection.QoS0BufferLimit))
        {
            delivery.Message.Release();
            CountDropped(CounterId.DeliveryDroppedQos0Msg);
        }
    }

    private void SendNewLocked(MqttConnection connection, in QueuedMessage delivery, long now)
    {
        if (!connection.FitsPacketSize(delivery))
        {
            ForgetStored(delivery);
            delivery.Message.Release();
            CountDropped(CounterId.DeliveryDroppedTooLarge);
            return;
        }

        ushort id = AllocatePacketIdLocked();
        InflightForInsert()[id] = new InflightEntry
        {
            Delivery = delivery,
            State = delivery.QoS == QualityOfService.AtLeastOnce ? InflightState.AwaitingPubAck : InflightState.AwaitingPubRec,
            SentAt = now,
            Sequence = ++_sequence,
        };
        EnqueuePublish(connection, delivery, id, dup: false);
    }

    /// <summary>
    /// Queues the PUBLISH of an inflight delivery. The inflight entry keeps its own reference (for a resend), so the
    /// outbound item takes another, which the writer releases once encoded.
    /// </summary>
    private static void EnqueuePublish(MqttConnection connection, in QueuedMessage delivery, ushort packetId, bool dup)
    {
        delivery.Message.AddRef();
        if (!connection.Outbound.TryEnqueue(PublishItem(delivery, packetId, dup)))
        {
            delivery.Message.Release();
        }
    }

    private static OutboundItem PublishItem(in QueuedMessage delivery, ushort packetId, bool dup) => new()
    {
        Kind = OutboundKind.Publish,
        QoS = delivery.QoS,
        Retain = delivery.Retain,
        Dup = dup,
        PacketIdentifier = packetId,
        Message = delivery.Message,
        SubscriptionIdentifiers = delivery.SubscriptionIdentifiers,
    };

    /// <summary>Queues for later; when full the oldest message is dropped (EMQX's mqueue behaviour).</summary>
    private void EnqueueLocked(in QueuedMessage delivery)
    {
        int max = _broker.Options.MaximumQueueLength;
        if (max > 0 && _queue.Count >= max)
        {
            QueuedMessage dropped = _queue.Dequeue();
            ForgetStored(dropped);
            dropped.Message.Release();
            _queueDropped++;
            CountDropped(dropped.QoS == QualityOfService.AtMostOnce ? CounterId.DeliveryDroppedQos0Msg : CounterId.DeliveryDroppedQueueFull);
        }

        QueueForInsert().Enqueue(delivery);
        if (_connection is not null && _queue.Count >= QueueHighWater(max))
        {
            // A connected client falling behind: hold its publishers back before the queue has to drop.
            (_gate ??= new CongestionGate { Owner = this }).Close();
        }
    }

    /// <summary>Queue length at which publishers to a connected session are held back: 3/4 of max_mqueue_len.</summary>
    private static int QueueHighWater(int max) => max > 0 ? Math.Max(1, max / 4 * 3) : 10_000;

    /// <summary>Reopens the gate once the queue is down to half the high-water mark (or the client went away).</summary>
    private void OpenGateIfDrainedLocked()
    {
        if (_gate is { IsClosed: true } && (_connection is null || _queue.Count <= QueueHighWater(_broker.Options.MaximumQueueLength) / 2))
        {
            _gate.Open();
        }
    }

    /// <summary>Tells the persistence that a stored message left the session (acknowledged, dropped, expired).</summary>
    private void ForgetStored(in QueuedMessage delivery)
    {
        if (delivery.StoreId != 0)
        {
            _broker.Persistence?.MessageRemoved(ClientId, delivery.StoreId);
        }
    }

    /// <summary>Puts a message read from storage back at the end of the queue (restore, before any connection).</summary>
    internal void RestoreQueued(in QueuedMessage delivery)
    {
        lock (Sync)
        {
            QueueForInsert().Enqueue(delivery);
        }
    }

    private void CountDropped(CounterId reason)
    {
        _broker.Counters.Increment(reason);
        _broker.Counters.Increment(CounterId.DeliveryDropped);
    }

    private ushort AllocatePacketIdLocked()
    {
        while (true)
        {
            ushort id = _nextPacketId == ushort.MaxValue ? (ushort)1 : (ushort)(_nextPacketId + 1);
            _nextPacketId = id;
            if (!_inflight.ContainsKey(id))
            {
                return id;
            }
        }
    }

    /// <summary>Moves queued messages into the inflight window while it has room [MQTT-4.9].</summary>
    private void FillWindowLocked(MqttConnection connection)
    {
        long now = _broker.TimeProvider.GetTimestamp();
        while (_deferredCount > 0 && _inflight.Count - _deferredCount < connection.OutboundWindow)
        {
            ResendOldestDeferredLocked(connection, now);
        }

        while (_queue.Count > 0 && _inflight.Count < connection.OutboundWindow)
        {
            QueuedMessage next = _queue.Dequeue();
            if (next.Message.IsExpired(now))
            {
                ForgetStored(next);
                next.Message.Release();
                CountDropped(CounterId.DeliveryDroppedExpired);
                continue;
            }

            if (next.QoS == QualityOfService.AtMostOnce)
            {
                SendQoS0(connection, next);
            }
            else
            {
                SendNewLocked(connection, next, now);
            }
        }

        OpenGateIfDrainedLocked();
    }

    /// <summary>PUBACK from the client: the QoS 1 delivery is done [MQTT-4.3.2].</summary>
    internal AckOutcome OnPubAck(ushort packetId) => CompleteDelivery(packetId, InflightState.AwaitingPubAck);

    /// <summary>PUBREC: release with PUBREL, or on a v5 error reason forget the message [MQTT-4.3.3].</summary>
    internal AckOutcome OnPubRec(ushort packetId, ReasonCode reasonCode)
    {
        lock (Sync)
        {
            if (!_inflight.TryGetValue(packetId, out InflightEntry entry))
            {
                return AckOutcome.NotFound;
            }

            if (entry.State == InflightState.AwaitingPubAck)
            {
                return AckOutcome.InUse;
            }

            if (entry.State == InflightState.AwaitingPubComp)
            {
                // A repeated PUBREC (our PUBREL may be lost): release again, but it acknowledges nothing new.
                if (entry.Deferred)
                {
                    entry.Deferred = false;
                    _deferredCount--;
                    entry.SentAt = _broker.TimeProvider.GetTimestamp();
                    _inflight[packetId] = entry;
                }

                _connection?.Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Ack, PacketType = PacketType.PubRel, PacketIdentifier = packetId });
                return AckOutcome.InUse;
            }

            if (reasonCode >= ReasonCode.UnspecifiedError)
            {
                RemoveInflightLocked(packetId, entry);
                if (_connection is { } c)
                {
                    FillWindowLocked(c);
                }

                return AckOutcome.Completed;
            }

            if (entry.Deferred)
            {
                // Acknowledged from an earlier connection before we resent it: the PUBREL below puts it on the wire.
                entry.Deferred = false;
                _deferredCount--;
            }

            // Received by the client: from here only PUBREL is resent, so a restart does not deliver it again.
            ForgetStored(entry.Delivery);
            entry.Delivery = entry.Delivery with { StoreId = 0 };
            entry.State = InflightState.AwaitingPubComp;
            entry.SentAt = _broker.TimeProvider.GetTimestamp();
            _inflight[packetId] = entry;
            _connection?.Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Ack, PacketType = PacketType.PubRel, PacketIdentifier = packetId });
            return AckOutcome.Completed;
        }
    }

    /// <summary>PUBCOMP: the QoS 2 delivery is done [MQTT-4.3.3].</summary>
    internal AckOutcome OnPubComp(ushort packetId) => CompleteDelivery(packetId, InflightState.AwaitingPubComp);

    /// <summary>Ends the delivery holding <paramref name="packetId"/> if it is in <paramref name="expected"/>, and refills the window.</summary>
    private AckOutcome CompleteDelivery(ushort packetId, InflightState expected)
    {
        lock (Sync)
        {
            if (!_inflight.TryGetValue(packetId, out InflightEntry entry))
            {
                return AckOutcome.NotFound;
            }

            if (entry.State != expected)
            {
                // The identifier is in flight in another handshake (a PUBACK for a QoS 2 delivery...).
                return AckOutcome.InUse;
            }

            if ((_broker.Rules.ActiveMask & (1 << (int)RuleEventKind.MessageAcked)) != 0 && !entry.Delivery.Message.FromRule)
            {
                // Before the entry's reference to the message goes.
                _broker.Rules.OnMessageToClient(RuleEventKind.MessageAcked, this, entry.Delivery.Message, entry.Delivery.QoS);
            }

            RemoveInflightLocked(packetId, entry);
            if (_connection is { } connection)
            {
                FillWindowLocked(connection);
            }

            return AckOutcome.Completed;
        }
    }

    /// <summary>Resends every unacknowledged delivery in order, DUP set, PUBREL for released ones [MQTT-4.4.0-1].</summary>
    private void ResendInflightLocked(MqttConnection connection, long olderThan)
    {
        if (_inflight.Count == 0)
        {
            return;
        }

        // The retry sweep runs every second for each 3.1/3.1.1 session: count first, so a window that is moving
        // (everything acknowledged within the retry interval) costs no list.
        int due = 0;
        foreach (KeyValuePair<ushort, InflightEntry> pair in _inflight)
        {
            if (pair.Value.SentAt <= olderThan)
            {
                due++;
            }
        }

        if (due == 0)
        {
            return;
        }

        var pending = new List<(long Sequence, ushort Id)>(due);
        foreach (KeyValuePair<ushort, InflightEntry> pair in _inflight)
        {
            if (pair.Value.SentAt <= olderThan)
            {
                pending.Add((pair.Value.Sequence, pair.Key));
            }
        }

        pending.Sort();
        long now = _broker.TimeProvider.GetTimestamp();

        // On reconnect (everything pending) the new connection's Receive Maximum bounds the resend; the rest are
        // deferred and go out as acks free the window [MQTT-3.3.4-9]. A retry never sends a deferred entry.
        bool reconnect = olderThan == long.MaxValue;
        int budget = reconnect ? connection.OutboundWindow : int.MaxValue;
        if (reconnect)
        {
            _deferredCount = 0;
        }

        foreach ((_, ushort id) in pending)
        {
            InflightEntry entry = _inflight[id];
            if (!reconnect && entry.Deferred)
            {
                continue;
            }

            entry.Deferred = budget-- <= 0;
            if (entry.Deferred)
            {
                _deferredCount++;
                _inflight[id] = entry;
                continue;
            }

            entry.SentAt = now;
            _inflight[id] = entry;
            ResendLocked(connection, id, entry);
        }
    }

    private static void ResendLocked(MqttConnection connection, ushort id, in InflightEntry entry)
    {
        if (entry.State == InflightState.AwaitingPubComp)
        {
            connection.Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Ack, PacketType = PacketType.PubRel, PacketIdentifier = id });
        }
        else
        {
            EnqueuePublish(connection, entry.Delivery, id, dup: true);
        }
    }

    private void ResendOldestDeferredLocked(MqttConnection connection, long now)
    {
        ushort oldest = 0;
        long oldestSequence = long.MaxValue;
        foreach (KeyValuePair<ushort, InflightEntry> pair in _inflight)
        {
            if (pair.Value.Deferred && pair.Value.Sequence < oldestSequence)
            {
                oldest = pair.Key;
                oldestSequence = pair.Value.Sequence;
            }
        }

        InflightEntry entry = _inflight[oldest];
        entry.Deferred = false;
        entry.SentAt = now;
        _inflight[oldest] = entry;
        _deferredCount--;
        ResendLocked(connection, oldest, entry);
    }

    private void RemoveInflightLocked(ushort packetId, in InflightEntry entry)
    {
        _inflight.Remove(packetId);
        ForgetStored(entry.Delivery);
        entry.Delivery.Message.Release();
        if (entry.Deferred)
        {
            _deferredCount--;
        }
    }

    /// <summary>Resends deliveries unacknowledged for the retry interval (3.1/3.1.1 only; v5 forbids it but on reconnect).</summary>
    internal void RetryInflight(long olderThan)
    {
        lock (Sync)
        {
            if (_connection is { } connection)
            {
                ResendInflightLocked(connection, olderThan);
            }
        }
    }
}

/// <summary>What an acknowledgement from the client did to the inflight window.</summary>
internal enum AckOutcome
{
    /// <summary>It moved the delivery on (PUBACK, PUBREC, PUBCOMP of the expected kind).</summary>
    Completed,
    /// <summary>The identifier is in flight but in another state (EMQX's packets.*.inuse).</summary>
    InUse,
    /// <summary>No delivery has this identifier (EMQX's packets.*.missed).</summary>
    NotFound,
}
