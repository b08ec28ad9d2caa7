using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Broker.Core.Codec;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Routing;

namespace Broker.Core.Connections;

internal sealed partial class MqttConnection
{
    /// <summary>Scheduled by the outbound queue when an item arrives for an idle writer.</summary>
    void IThreadPoolWorkItem.Execute() => DrainOutput();

    /// <summary>
    /// Drains the outbound queue: everything queued is encoded into the transport and flushed once, so a burst of
    /// deliveries costs one flush (and one send). Runs until the queue is empty, then the writer is idle and holds
    /// nothing: no loop waits while a connection is quiet. A flush that cannot complete at once (the peer reads
    /// slowly) continues in <see cref="DrainAfterFlushAsync"/>.
    /// </summary>
    private void DrainOutput()
    {
        try
        {
            PipeWriter output = _transport.Output;
            while (WriteBatch(output))
            {
                ValueTask<FlushResult> flush = output.FlushAsync();
                if (!flush.IsCompletedSuccessfully)
                {
                    _ = DrainAfterFlushAsync(flush);
                    return;
                }

                FlushResult result = flush.Result;
                if (result.IsCompleted || result.IsCanceled)
                {
                    EndWriter();
                    return;
                }
            }
        }
        catch (Exception ex) when (IsTransportException(ex))
        {
            BrokerLog.TransportError(_broker.Logger, ClientId, ex);
            EndWriter();
        }
    }

    /// <summary>The rest of a drain whose flush had to wait for the peer (the only time the writer holds a state machine).</summary>
    private async Task DrainAfterFlushAsync(ValueTask<FlushResult> pending)
    {
        try
        {
            FlushResult result = await pending.ConfigureAwait(false);
            if (result.IsCompleted || result.IsCanceled)
            {
                EndWriter();
                return;
            }
        }
        catch (Exception ex) when (IsTransportException(ex))
        {
            BrokerLog.TransportError(_broker.Logger, ClientId, ex);
            EndWriter();
            return;
        }

        DrainOutput();
    }

    /// <summary>Encodes one batch into <paramref name="output"/>; false when the queue was empty (the writer is now idle or ended).</summary>
    private bool WriteBatch(PipeWriter output)
    {
        if (!Outbound.TryTakeAll(out List<OutboundItem>? batch, out bool completed))
        {
            if (completed)
            {
                OnWriterEnded();
            }

            return false;
        }

        var sent = default(SentTally);
        long now = _broker.TimeProvider.GetTimestamp();
        try
        {
            foreach (ref readonly OutboundItem item in CollectionsMarshal.AsSpan(batch))
            {
                sent.Bytes += Write(output, item, now, ref sent);
            }

            sent.Packets = batch.Count;
        }
        finally
        {
            // Every message is copied into the transport (or the write failed): the items' references go.
            Outbound.Recycle(batch);
        }

        sent.Publish(Counters);
        _sentPackets += sent.Packets;
        _sentBytes += sent.Bytes;
        _sentMessages += sent.Messages;
        return true;
    }

    /// <summary>The output failed or was completed by the transport: stop for good and end the read side too.</summary>
    private void EndWriter()
    {
        Outbound.EndWriter();
        OnWriterEnded();
        RequestClose(DisconnectReason.TransportClosed, null);
    }

    private void OnWriterEnded()
    {
        if (Volatile.Read(ref _rare) is { } rare)
        {
            Volatile.Read(ref rare.WriterEnded)?.TrySetResult();
        }
    }

    /// <summary>Completes when the writer has ended (after <see cref="OutboundQueue.Complete"/>); allocates only here, at close.</summary>
    private Task WhenWriterEnded()
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref GetRare().WriterEnded, ended);
        if (Outbound.WriterEnded)
        {
            ended.TrySetResult();
        }

        return ended.Task;
    }

    private static bool IsTransportException(Exception ex)
        => ex is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException;

    private int Write(PipeWriter output, in OutboundItem item, long now, ref SentTally sent)
    {
        switch (item.Kind)
        {
            case OutboundKind.Publish:
                sent.Messages++;
                sent.CountPublish(item.QoS);
                return WritePublish(output, item, now);
            case OutboundKind.Ack:
                sent.CountAck(item.PacketType);
                return PacketEncoder.WritePublishAck(output, item.PacketType, item.PacketIdentifier, Version, item.ReasonCode);
            case OutboundKind.PingResp:
                sent.PingResp++;
                return PacketEncoder.WritePingResp(output);
            default:
                Counters.Increment(item.SentCounter);
                output.Write(item.Encoded);
                return item.Encoded!.Length;
        }
    }

    private int WritePublish(PipeWriter output, in OutboundItem item, long now)
    {
        Message message = item.Message!;
        var publish = new OutgoingPublish
        {
            QoS = item.QoS,
            Dup = item.Dup,
            Retain = item.Retain,
            PacketIdentifier = item.PacketIdentifier,
            TopicName = message.TopicBytes,
            Payload = message.Payload,
        };

        if (IsV5)
        {
            publish.Properties = message.Properties;
            publish.SubscriptionIdentifiers = item.SubscriptionIdentifiers;
            if (message.ExpiresAt != 0)
            {
                // The remaining lifetime, rounded up so a live message never shows 0 [MQTT-3.3.2-6].
                long left = message.ExpiresAt - now;
                publish.HasMessageExpiry = true;
                publish.MessageExpiryInterval = left <= 0 ? 1u : (uint)Math.Max(1, (left + _broker.TimeProvider.TimestampFrequency - 1) / _broker.TimeProvider.TimestampFrequency);
            }

            if (ClientTopicAliasMaximum > 0)
            {
                ApplyTopicAlias(ref publish, message);
            }
        }

        return PacketEncoder.WritePublish(output, publish, Version);
    }

    /// <summary>
    /// Server-assigned topic aliases [MQTT-3.3.2.3.4]: the first PUBLISH of a topic carries topic and alias, later ones
    /// only the alias, so repeated long topics shrink on the wire. Aliases are handed out until the client's maximum.
    /// </summary>
    private void ApplyTopicAlias(ref OutgoingPublish publish, Message message)
    {
        Dictionary<byte[], ushort> aliases = GetRare().OutboundAliases ??= new Dictionary<byte[], ushort>(ByteArrayComparer.Instance);
        Dictionary<byte[], ushort>.AlternateLookup<ReadOnlySpan<byte>> lookup = aliases.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(message.TopicBytes, out ushort alias))
        {
            publish.TopicAlias = alias;
            publish.TopicName = default;
            if (!FitsClientMaximumPacketSize(publish))
            {
                // Alias-only is larger than topic-only for a topic under 3 bytes; topic-only was checked to fit.
                publish.TopicAlias = 0;
                publish.TopicName = message.TopicBytes;
            }

            return;
        }

        if (aliases.Count < ClientTopicAliasMaximum)
        {
            alias = (ushort)(aliases.Count + 1);
            publish.TopicAlias = alias;
            if (!FitsClientMaximumPacketSize(publish))
            {
                // Topic plus alias would exceed the client's Maximum Packet Size [MQTT-3.1.2-24]: send this one without.
                publish.TopicAlias = 0;
                return;
            }

            aliases.Add(message.TopicBytes.ToArray(), alias);
        }
    }

    private bool FitsClientMaximumPacketSize(scoped in OutgoingPublish publish)
        => ClientMaximumPacketSize == int.MaxValue || PacketEncoder.GetPublishSize(publish, Version) <= ClientMaximumPacketSize;

    /// <summary>Per-batch counts, added to the shared counters once per flush rather than once per packet.</summary>
    private struct SentTally
    {
        public long Bytes;
        public int Packets;
        public int Messages;
        public int QoS0;
        public int QoS1;
        public int QoS2;
        public int PubAck;
        public int PubRec;
        public int PubRel;
        public int PubComp;
        public int PingResp;

        public void CountPublish(QualityOfService qos)
        {
            switch (qos)
            {
                case QualityOfService.AtMostOnce: QoS0++; break;
                case QualityOfService.AtLeastOnce: QoS1++; break;
                default: QoS2++; break;
            }
        }

        public void CountAck(PacketType type)
        {
            switch (type)
            {
                case PacketType.PubAck: PubAck++; break;
                case PacketType.PubRec: PubRec++; break;
                case PacketType.PubRel: PubRel++; break;
                default: PubComp++; break;
            }
        }

        public readonly void Publish(BrokerCounters counters)
        {
            counters.Add(CounterId.BytesSent, Bytes);
            counters.Add(CounterId.PacketsSent, Packets);
            AddIf(counters, CounterId.PacketsPublishSent, Messages);
            AddIf(counters, CounterId.MessagesSent, Messages);
            AddIf(counters, CounterId.MessagesQos0Sent, QoS0);
            AddIf(counters, CounterId.MessagesQos1Sent, QoS1);
            AddIf(counters, CounterId.MessagesQos2Sent, QoS2);
            AddIf(counters, CounterId.PacketsPubackSent, PubAck);
            AddIf(counters, CounterId.PacketsPubrecSent, PubRec);
            AddIf(counters, CounterId.PacketsPubrelSent, PubRel);
            AddIf(counters, CounterId.PacketsPubcompSent, PubComp);
            AddIf(counters, CounterId.PacketsPingrespSent, PingResp);
        }

        private static void AddIf(BrokerCounters counters, CounterId id, int value)
        {
            if (value != 0)
            {
                counters.Add(id, value);
            }
        }
    }
}
