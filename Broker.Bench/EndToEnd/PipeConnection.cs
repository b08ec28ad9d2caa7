using System.Buffers;
using System.IO.Pipelines;
using Broker.Bench.Support;
using Broker.Core;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Transport.Buffers;

namespace Broker.Bench.EndToEnd;

/// <summary>
/// One client connection served by <see cref="MqttBroker.RunConnectionAsync"/> over a pair of in-memory pipes: no
/// sockets, no client library. After the handshake a drain loop reads everything the broker sends, counts the bytes
/// and, when <see cref="AckPublishes"/> is set, answers each QoS 1 PUBLISH with a PUBACK, as a subscriber would.
/// </summary>
internal sealed class PipeConnection
{
    /// <summary>
    /// Set <c>BENCH_THREADPOOL_SCHEDULER=1</c> to wake the broker's read loop through <see cref="PipeScheduler.ThreadPool"/>,
    /// as Broker.Transport's socket pipes do; the default is <see cref="IOQueue"/>, which does not allocate per wake.
    /// </summary>
    private static readonly PipeScheduler s_brokerReadScheduler =
        Environment.GetEnvironmentVariable("BENCH_THREADPOOL_SCHEDULER") == "1" ? PipeScheduler.ThreadPool : new IOQueue();

    // Segments come from a pool that keeps every block (as Kestrel's transport does): ArrayPool<byte>.Shared, the default,
    // drops returns beyond a few dozen 4 KiB arrays, and 100 connections with two pipes each hold more than that.
    private static readonly PipeOptions s_toBroker = new(pool: BlockMemoryPool.Instance, readerScheduler: s_brokerReadScheduler, useSynchronizationContext: false, pauseWriterThreshold: 0, resumeWriterThreshold: 0);

    // The drain loop runs inline in the broker's flush: counting bytes needs no thread-pool hop, and a hop would add a
    // work item allocation per flush that belongs to this harness, not to the broker.
    private static readonly PipeOptions s_fromBroker = new(pool: BlockMemoryPool.Instance, readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false, pauseWriterThreshold: 0, resumeWriterThreshold: 0);

    private readonly Pipe _toBroker = new(s_toBroker);
    private readonly Pipe _fromBroker = new(s_fromBroker);
    private readonly Action _onTarget;
    private long _received;
    private long _target = long.MaxValue;
    private Task _drain = Task.CompletedTask;

    public PipeConnection(MqttBroker broker, Action onTarget)
    {
        _onTarget = onTarget;
        Served = broker.RunConnectionAsync(new DuplexPipe(_toBroker.Reader, _fromBroker.Writer), new ConnectionInfo());
    }

    public Task Served { get; }

    public bool AckPublishes { get; init; }

    public PipeWriter Output => _toBroker.Writer;

    /// <summary>Total bytes to receive before <c>onTarget</c> runs (once per target).</summary>
    public void SetTarget(long target) => Volatile.Write(ref _target, target);

    /// <summary>CONNECT (3.1.1, clean session) and, if <paramref name="filter"/> is given, SUBSCRIBE; waits for both acks.</summary>
    public void Handshake(string clientId, string? filter, QualityOfService qos)
    {
        var output = new ArrayBufferWriter<byte>(128);
        PacketEncoder.WriteConnect(output, new ConnectPacket { ClientId = clientId, ProtocolVersion = ProtocolVersion.V311, KeepAlive = 0 });
        Send(output.WrittenSpan);
        Expect(PacketType.ConnAck);
        if (filter is not null)
        {
            output.ResetWrittenCount();
            PacketEncoder.WriteSubscribe(output, new SubscribePacket { PacketIdentifier = 1, Subscriptions = [new TopicSubscription(filter, qos)] }, ProtocolVersion.V311);
            Send(output.WrittenSpan);
            Expect(PacketType.SubAck);
        }

        _drain = Task.Run(DrainAsync);
    }

    public void Send(ReadOnlySpan<byte> bytes)
    {
        _toBroker.Writer.Write(bytes);
        ValueTask<FlushResult> flush = _toBroker.Writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
    }

    public async Task CloseAsync()
    {
        await _toBroker.Writer.CompleteAsync().ConfigureAwait(false);
        await Served.ConfigureAwait(false);
        await _drain.ConfigureAwait(false);
    }

    private void Expect(PacketType type)
    {
        PipeReader reader = _fromBroker.Reader;
        while (true)
        {
            ReadResult result = reader.ReadAsync().AsTask().GetAwaiter().GetResult();
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (PacketDecoder.TryReadFrame(buffer, int.MaxValue, out FixedHeader header))
            {
                reader.AdvanceTo(buffer.GetPosition(header.PacketLength));
                if (header.Type != type)
                {
                    throw new InvalidOperationException($"Expected {type}, the broker sent {header.Type}.");
                }

                return;
            }

            if (result.IsCompleted)
            {
                throw new InvalidOperationException($"The broker closed the connection before {type}.");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task DrainAsync()
    {
        PipeReader reader = _fromBroker.Reader;
        PipeWriter acks = _toBroker.Writer;
        long reported = 0;
        while (true)
        {
            ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition consumed = buffer.End;
            long consumedLength = buffer.Length;
            int ackCount = 0;
            if (AckPublishes)
            {
                ackCount = WriteAcks(ref buffer, acks);
                consumed = buffer.Start;
                consumedLength -= buffer.Length;
            }

            _received += consumedLength;
            reader.AdvanceTo(consumed, result.Buffer.End);
            if (ackCount > 0)
            {
                await acks.FlushAsync().ConfigureAwait(false);
            }

            long target = Volatile.Read(ref _target);
            if (_received >= target && target != reported)
            {
                reported = target;
                _onTarget();
            }

            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>PUBACKs every whole QoS 1 PUBLISH in <paramref name="buffer"/>, which is left at the first incomplete frame.</summary>
    private static int WriteAcks(ref ReadOnlySequence<byte> buffer, PipeWriter acks)
    {
        int count = 0;
        while (PacketDecoder.TryReadFrame(buffer, int.MaxValue, out FixedHeader header))
        {
            if (header.Type == PacketType.Publish && (header.Flags & 0b0110) != 0)
            {
                PublishPacket publish = PacketDecoder.DecodePublish(header, buffer.Slice(header.HeaderLength, header.RemainingLength), ProtocolVersion.V311);
                PacketEncoder.WritePublishAck(acks, PacketType.PubAck, publish.PacketIdentifier, ProtocolVersion.V311);
                count++;
            }

            buffer = buffer.Slice(header.PacketLength);
        }

        return count;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
