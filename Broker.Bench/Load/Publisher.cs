using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// One publishing connection. The PUBLISH is encoded once by the codec into a template; the send loop copies it
/// into a batch buffer as many times as the window (and <c>--rate</c>) allow, patching packet identifier, sequence
/// number and timestamp, and hands the whole batch to one <c>send</c>. The receive loop counts PUBACK / PUBREC /
/// PUBCOMP, records which sequence numbers the broker acknowledged, and wakes the send loop.
/// </summary>
internal sealed class Publisher
{
    private const int BatchBytes = 64 * 1024;

    private readonly MqttLoadConnection _connection;
    private readonly QualityOfService _qos;
    private readonly byte[] _template;
    private readonly int _packetIdOffset;
    private readonly int _payloadOffset;
    private readonly byte[] _batch;
    private readonly int _maxBatch;
    private readonly int _window;
    private readonly bool _paced;
    private readonly AsyncSignal _signal = new();
    private readonly long[] _sequenceByPacketId = new long[65536];
    private readonly bool[] _packetIdInUse = new bool[65536];
    private readonly ushort[] _pubRelQueue = new ushort[65536];
    private readonly Lock _pubRelLock = new();
    private int _pubRelHead;
    private int _pubRelCount;
    private ushort _nextPacketId;
    private int _inflight;
    private long _allowed;
    private long _sent;
    private long _acknowledged;
    private long _rejected;
    private volatile bool _stopping;

    public Publisher(int id, MqttLoadConnection connection, string topic, QualityOfService qos, int payloadSize, int window, bool paced)
    {
        Id = id;
        _connection = connection;
        _qos = qos;
        _paced = paced;
        _window = Math.Min(Math.Min(window, connection.ReceiveMaximum), 65534);

        byte[] payload = new byte[payloadSize];
        PayloadFormat.WritePublisher(payload, id);
        byte[] topicBytes = Encoding.UTF8.GetBytes(topic);
        var output = new ArrayBufferWriter<byte>(payloadSize + topicBytes.Length + 16);
        var publish = new OutgoingPublish { QoS = qos, TopicName = topicBytes, Payload = payload, PacketIdentifier = 1 };
        PacketEncoder.WritePublish(output, publish, connection.Version);
        _template = output.WrittenSpan.ToArray();
        _payloadOffset = _template.Length - payloadSize;
        VariableByteInteger.TryRead(_template.AsSpan(1), out _, out int lengthBytes);
        _packetIdOffset = 1 + lengthBytes + 2 + topicBytes.Length;
        _maxBatch = Math.Max(1, BatchBytes / _template.Length);
        _batch = new byte[Math.Max(BatchBytes, _template.Length) + 4096];
    }

    public int Id { get; }

    /// <summary>The sequence numbers [0, Sent) have been handed to the socket.</summary>
    public long Sent => Volatile.Read(ref _sent);

    public long Acknowledged => Volatile.Read(ref _acknowledged);

    /// <summary>v5 PUBACK / PUBREC with a failure reason code.</summary>
    public long Rejected => Volatile.Read(ref _rejected);

    public int Inflight => Volatile.Read(ref _inflight);

    /// <summary>Sequence numbers the broker acknowledged (PUBACK for QoS 1, PUBREC for QoS 2).</summary>
    public SequenceBitmap Acked { get; } = new();

    public bool Closed { get; private set; }

    /// <summary>Paced publishers (<c>--rate</c>): sequence numbers [0, <paramref name="allowed"/>) may be sent by now.</summary>
    public void Allow(long allowed)
    {
        Volatile.Write(ref _allowed, allowed);
        _signal.Set();
    }

    public void Stop()
    {
        _stopping = true;
        _signal.Set();
    }

    public async Task RunSendLoopAsync(CancellationToken cancellationToken)
    {
        long sequence = 0;
        int frame = _template.Length;
        while (!_stopping)
        {
            int length = DrainPubRels();
            long budget = _maxBatch;
            if (_qos != QualityOfService.AtMostOnce)
            {
                budget = Math.Min(budget, _window - Volatile.Read(ref _inflight));
            }

            if (_paced)
            {
                budget = Math.Min(budget, Volatile.Read(ref _allowed) - sequence);
            }

            if (budget > 0)
            {
                long timestamp = Stopwatch.GetTimestamp();
                if (_qos != QualityOfService.AtMostOnce)
                {
                    Interlocked.Add(ref _inflight, (int)budget);
                }

                for (int i = 0; i < budget; i++)
                {
                    Span<byte> destination = _batch.AsSpan(length, frame);
                    _template.CopyTo(destination);
                    if (_qos != QualityOfService.AtMostOnce)
                    {
                        ushort packetId = NextPacketId();
                        _sequenceByPacketId[packetId] = sequence;
                        BinaryPrimitives.WriteUInt16BigEndian(destination[_packetIdOffset..], packetId);
                    }

                    PayloadFormat.WriteSequence(destination[_payloadOffset..], sequence, timestamp);
                    sequence++;
                    length += frame;
                }
            }

            if (length == 0)
            {
                await _signal.WaitAsync().ConfigureAwait(false);
                continue;
            }

            int offset = 0;
            while (offset < length)
            {
                offset += await _connection.SendAsync(_batch.AsMemory(offset, length - offset), cancellationToken).ConfigureAwait(false);
            }

            Volatile.Write(ref _sent, sequence);
        }

        // QoS 2: PUBRELs for the messages still completing after the stop.
        while (_qos == QualityOfService.ExactlyOnce && Volatile.Read(ref _inflight) > 0 && !cancellationToken.IsCancellationRequested)
        {
            int length = DrainPubRels();
            if (length > 0)
            {
                await _connection.SendAsync(_batch.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _signal.WaitAsync().ConfigureAwait(false);
            }
        }
    }

    public async Task RunReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                bool freed = false;
                while (_connection.TryReadFrame(out FixedHeader header))
                {
                    freed |= OnPacket(header);
                    _connection.Consume(header);
                }

                if (freed)
                {
                    _signal.Set();
                }

                if (await _connection.ReceiveAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            Closed = true;
            _signal.Set();
        }
    }

    private bool OnPacket(in FixedHeader header)
    {
        if (header.Type is not (PacketType.PubAck or PacketType.PubRec or PacketType.PubComp) || header.RemainingLength < 2)
        {
            return false;
        }

        ReadOnlySpan<byte> body = _connection.BodySpan(header);
        ushort packetId = BinaryPrimitives.ReadUInt16BigEndian(body);
        bool failed = header.RemainingLength >= 3 && body[2] >= 0x80;
        switch (header.Type)
        {
            case PacketType.PubAck:
                Acknowledge(packetId, failed);
                return Release(packetId);
            case PacketType.PubRec:
                Acknowledge(packetId, failed);
                if (failed)
                {
                    return Release(packetId);   // a failed PUBREC ends the exchange [MQTT-4.3.3]
                }

                lock (_pubRelLock)
                {
                    _pubRelQueue[(_pubRelHead + _pubRelCount) & 0xFFFF] = packetId;
                    _pubRelCount++;
                }

                return true;
            default:
                return Release(packetId);
        }
    }

    private void Acknowledge(ushort packetId, bool failed)
    {
        if (failed)
        {
            _rejected++;
            return;
        }

        Acked.TrySet(_sequenceByPacketId[packetId]);
        Volatile.Write(ref _acknowledged, _acknowledged + 1);
    }

    private bool Release(ushort packetId)
    {
        if (!Volatile.Read(ref _packetIdInUse[packetId]))
        {
            return false;   // a stray or repeated acknowledgement
        }

        Volatile.Write(ref _packetIdInUse[packetId], false);
        Interlocked.Decrement(ref _inflight);
        return true;
    }

    private ushort NextPacketId()
    {
        while (true)
        {
            _nextPacketId = _nextPacketId == 65535 ? (ushort)1 : (ushort)(_nextPacketId + 1);
            if (!Volatile.Read(ref _packetIdInUse[_nextPacketId]))
            {
                Volatile.Write(ref _packetIdInUse[_nextPacketId], true);
                return _nextPacketId;
            }
        }
    }

    private int DrainPubRels()
    {
        if (_qos != QualityOfService.ExactlyOnce)
        {
            return 0;
        }

        int length = 0;
        lock (_pubRelLock)
        {
            int count = Math.Min(_pubRelCount, 4096 / 4);
            for (int i = 0; i < count; i++)
            {
                ushort packetId = _pubRelQueue[(_pubRelHead + i) & 0xFFFF];
                Span<byte> destination = _batch.AsSpan(length, 4);
                destination[0] = 0x62;   // PUBREL, flags 0010 [MQTT-3.6.1-1]
                destination[1] = 2;
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], packetId);
                length += 4;
            }

            _pubRelHead = (_pubRelHead + count) & 0xFFFF;
            _pubRelCount -= count;
        }

        return length;
    }
}
