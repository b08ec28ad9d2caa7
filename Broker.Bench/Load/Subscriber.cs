using System.Buffers.Binary;
using System.Diagnostics;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// One subscribing connection. Its receive loop decodes each PUBLISH with the codec, verifies the payload (size,
/// publisher, sequence: duplicates and holes), records latency from the embedded send timestamp while the window is
/// open, and answers QoS 1/2 with acknowledgements gathered into one send per received batch.
/// </summary>
internal sealed class Subscriber
{
    private readonly MqttLoadConnection _connection;
    private readonly SequenceBitmap?[] _streams;
    private readonly long[] _nextExpected;
    private readonly bool _ordered;
    private readonly int _payloadSize;
    private readonly MeasureWindow _window;
    private readonly byte[] _acks = new byte[16 * 1024];
    private long[]? _log;
    private int _logged;
    private long _received;
    private long _duplicates;
    private long _wrongSize;
    private long _foreign;
    private long _gaps;

    /// <summary>
    /// <paramref name="streams"/> holds, by publisher id, the bitmap of sequence numbers this subscriber (or its share
    /// group) expects, else null; <paramref name="ordered"/> is false for share-group members, which see only part of
    /// each publisher's sequence.
    /// </summary>
    public Subscriber(MqttLoadConnection connection, SequenceBitmap?[] streams, bool ordered, int payloadSize, MeasureWindow window)
    {
        _connection = connection;
        _streams = streams;
        _nextExpected = new long[streams.Length];
        _ordered = ordered;
        _payloadSize = payloadSize;
        _window = window;
    }

    public long Received => Volatile.Read(ref _received);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long WrongSize => Volatile.Read(ref _wrongSize);

    /// <summary>Payloads from no publisher of this run, or not meant for this subscriber.</summary>
    public long Foreign => Volatile.Read(ref _foreign);

    /// <summary>Times a publisher's sequence skipped ahead (a hole, possibly filled later by a retry).</summary>
    public long Gaps => Volatile.Read(ref _gaps);

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Also keep up to <paramref name="samples"/> raw samples (arrival timestamp, latency) for <see cref="WriteLog"/>.</summary>
    public void KeepSamples(int samples) => _log = new long[2 * samples];

    /// <summary>Appends the kept samples as CSV lines: milliseconds since the window opened, latency in microseconds.</summary>
    public void WriteLog(TextWriter writer)
    {
        long start = _window.Start;
        for (int i = 0; i < _logged; i += 2)
        {
            writer.WriteLine(FormattableString.Invariant($"{(_log![i] - start) * 1000.0 / Stopwatch.Frequency:F3},{_log[i + 1] / 1000.0:F1}"));
        }
    }

    public bool Closed { get; private set; }

    public async Task RunReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                int ackLength = 0;
                while (_connection.TryReadFrame(out FixedHeader header))
                {
                    if (header.Type == PacketType.Publish)
                    {
                        PublishPacket publish = PacketDecoder.DecodePublish(header, _connection.Body(header), _connection.Version);
                        Verify(publish.Payload.FirstSpan);
                        if (publish.QoS != QualityOfService.AtMostOnce)
                        {
                            // PUBACK for QoS 1, PUBREC for QoS 2
                            ackLength += WriteAck(ackLength, publish.QoS == QualityOfService.AtLeastOnce ? (byte)0x40 : (byte)0x50, publish.PacketIdentifier);
                        }
                    }
                    else if (header.Type == PacketType.PubRel && header.RemainingLength >= 2)
                    {
                        ackLength += WriteAck(ackLength, 0x70, BinaryPrimitives.ReadUInt16BigEndian(_connection.BodySpan(header)));
                    }

                    _connection.Consume(header);
                    if (ackLength > _acks.Length - 8)
                    {
                        await _connection.SendAsync(_acks.AsMemory(0, ackLength), cancellationToken).ConfigureAwait(false);
                        ackLength = 0;
                    }
                }

                if (ackLength > 0)
                {
                    await _connection.SendAsync(_acks.AsMemory(0, ackLength), cancellationToken).ConfigureAwait(false);
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
        }
    }

    private int WriteAck(int offset, byte first, ushort packetId)
    {
        _acks[offset] = first;
        _acks[offset + 1] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(_acks.AsSpan(offset + 2), packetId);
        return 4;
    }

    private void Verify(ReadOnlySpan<byte> payload)
    {
        Volatile.Write(ref _received, _received + 1);
        if (payload.Length != _payloadSize || !PayloadFormat.TryRead(payload, out int publisherId, out long sequence, out long sentAt))
        {
            Volatile.Write(ref _wrongSize, _wrongSize + 1);
            return;
        }

        if ((uint)publisherId >= (uint)_streams.Length || _streams[publisherId] is not SequenceBitmap stream)
        {
            Volatile.Write(ref _foreign, _foreign + 1);
            return;
        }

        if (!stream.TrySet(sequence))
        {
            Volatile.Write(ref _duplicates, _duplicates + 1);
        }
        else if (_ordered)
        {
            if (sequence > _nextExpected[publisherId])
            {
                Volatile.Write(ref _gaps, _gaps + 1);
            }

            _nextExpected[publisherId] = Math.Max(_nextExpected[publisherId], sequence + 1);
        }

        long now = Stopwatch.GetTimestamp();
        if (_window.Contains(now))
        {
            long nanoseconds = (long)((now - sentAt) * (1_000_000_000.0 / Stopwatch.Frequency));
            Latency.Record(nanoseconds);
            if (_log is not null && _logged < _log.Length)
            {
                _log[_logged] = now;
                _log[_logged + 1] = nanoseconds;
                _logged += 2;
            }
        }
    }
}
