using System.Buffers;
using System.IO.Pipelines;
using Broker.Core.Codec;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Sessions;
using Broker.Shared;

namespace Broker.Core.Connections;

/// <summary>
/// One MQTT connection over an <see cref="IDuplexPipe"/>: a read loop that frames and handles packets
/// synchronously (no await per packet), and a writer, scheduled when output is queued, that is the only writer of the output.
/// The socket's lifetime is this object's; the <see cref="Session"/> may outlive it.
/// </summary>
internal sealed partial class MqttConnection : IThreadPoolWorkItem, IIntrusiveListNode<MqttConnection>
{
    private const int StateAwaitingConnect = 0;
    private const int StateConnected = 1;
    private const int StateClosing = 2;

    private readonly MqttBroker _broker;
    private readonly IDuplexPipe _transport;
    private readonly long _createdAt;
    private int _state;
    private Rare? _rare;

    /// <summary>Neighbours in the broker's <see cref="ConnectionList"/>, under its lock.</summary>
    public MqttConnection? PreviousInList { get; set; }

    public MqttConnection? NextInList { get; set; }

    private int _closeRequested;
    private DisconnectReason _closeReason;
    private long _lastActivity;
    private long _connectedAtTicks;

    private long _receivedPackets;
    private long _receivedBytes;
    private long _receivedMessages;
    private long _sentPackets;
    private long _sentBytes;
    private long _sentMessages;

    private const int MinimumQoS0QueueLimit = 100_000;

    /// <summary>The longest a publisher is held back by one congested subscriber.</summary>
    private static readonly TimeSpan s_maximumBackPressureWait = TimeSpan.FromSeconds(1);

    public MqttConnection(MqttBroker broker, IDuplexPipe transport, ConnectionInfo info, CancellationToken cancellationToken = default)
    {
        _broker = broker;
        _transport = transport;
        Info = info;
        CancellationToken = cancellationToken;
        _createdAt = broker.TimeProvider.GetTimestamp();
        _lastActivity = _createdAt;
        Outbound = new OutboundQueue(this, this);
        MaximumPacketSize = broker.Options.MaximumPacketSize;
        OutboundWindow = broker.Options.MaximumInflight;
        QoS0QueueLimit = Math.Max(MinimumQoS0QueueLimit, broker.Options.MaximumQueueLength);
        QoS0BufferLimit = broker.Options.MaximumOutputBufferSize is > 0 and int limit ? limit : int.MaxValue;
    }

    public ConnectionInfo Info { get; }

    /// <summary>The token the transport passed in; the broker closes this connection when it is cancelled.</summary>
    public CancellationToken CancellationToken { get; }

    public OutboundQueue Outbound { get; }

    public ProtocolVersion Version { get; private set; } = ProtocolVersion.Unknown;

    public string? ClientId { get; private set; }

    public string? UserName { get; private set; }

    public Session? Session { get; private set; }

    /// <summary>When CONNECT was accepted (UTC; kept as ticks, half the size of a <see cref="DateTimeOffset"/>).</summary>
    public DateTimeOffset ConnectedAt => new(_connectedAtTicks, TimeSpan.Zero);

    public bool CleanStart { get; private set; }

    public ushort KeepAlive { get; private set; }

    public uint SessionExpiryInterval { get; private set; }

    public bool IsConnected => Volatile.Read(ref _state) == StateConnected;

    public DisconnectReason CloseReason => _closeReason;

    /// <summary>Largest packet we accept from this client (the option, frozen at accept).</summary>
    public int MaximumPacketSize { get; }

    /// <summary>Unacknowledged QoS 1/2 deliveries allowed: min(max_inflight, the client's Receive Maximum) [MQTT-3.3.4-7].</summary>
    public int OutboundWindow { get; private set; }

    /// <summary>
    /// QoS 0 publishes allowed to wait in the outbound queue before new ones are dropped (counted as
    /// <c>delivery.dropped.qos0_msg</c>). One read of a publisher's socket can carry thousands of small PUBLISH
    /// packets, all routed before this connection's writer runs, so the bound is far above any burst and only stops
    /// a consumer that has stopped reading. An item is a reference to the shared message, ~64 bytes.
    /// </summary>
    public int QoS0QueueLimit { get; }

    /// <summary>Bytes of QoS 0 messages that may wait for the writer (<see cref="Configuration.BrokerOptions.MaximumOutputBufferSize"/>).</summary>
    public int QoS0BufferLimit { get; }

    /// <summary>The client's Maximum Packet Size; larger deliveries are dropped [MQTT-3.1.2-25].</summary>
    public int ClientMaximumPacketSize { get; private set; } = int.MaxValue;

    /// <summary>The client's Topic Alias Maximum: how many aliases we may assign toward it.</summary>
    public ushort ClientTopicAliasMaximum { get; private set; }

    public long ReceivedPackets => Volatile.Read(ref _receivedPackets);

    public long ReceivedBytes => Volatile.Read(ref _receivedBytes);

    public long ReceivedMessages => Volatile.Read(ref _receivedMessages);

    public long SentPackets => Volatile.Read(ref _sentPackets);

    public long SentBytes => Volatile.Read(ref _sentBytes);

    public long SentMessages => Volatile.Read(ref _sentMessages);

    internal long CreatedTimestamp => _createdAt;

    internal long LastActivity => Volatile.Read(ref _lastActivity);

    private BrokerCounters Counters => _broker.Counters;

    private bool IsV5 => Version == ProtocolVersion.V500;

    /// <summary>Serves the connection until it ends. Never throws.</summary>
    /// <remarks>
    /// The read loop is written out here rather than in a method of its own: while idle, each awaiting async method
    /// holds a state machine box, and an idle connection should hold the read loop's and the writer's, nothing more.
    /// Cancellation comes through <see cref="RequestClose"/> (which cancels the pending read), not a token per read.
    /// </remarks>
    public async Task RunAsync()
    {
        try
        {
            try
            {
                // No locals live across these awaits: every one would be a field of this method's state machine, which
                // an idle connection holds while it waits (a ReadResult alone is 32 bytes).
                while (true)
                {
                    // What the last read routed may have filled a subscriber's queue: then stop reading (TCP pushes
                    // back on this publisher) until it drains, bounded so that a subscriber that stopped reading cannot
                    // stall us for good.
                    if (CongestionGate.AnyMet)
                    {
                        await WaitForGateAsync(CancellationToken).ConfigureAwait(false);
                    }

                    if (!HandleRead(await _transport.Input.ReadAsync().ConfigureAwait(false)))
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
            {
                SetCloseReason(DisconnectReason.ServerShutdown);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                SetCloseReason(DisconnectReason.TransportError);
                BrokerLog.TransportError(_broker.Logger, ClientId, ex);
            }
            finally
            {
                await CloseAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // The last line of defence: one connection's bug must not take the process down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            BrokerLog.UnexpectedError(_broker.Logger, ClientId, ex);
        }
        finally
        {
            _broker.OnConnectionEnded(this);
        }
    }

    /// <summary>
    /// The gate a subscriber closed during the last read, if this connection should wait for it: not its own (a
    /// client publishing to itself), and not one it already waited out in vain until that one has drained once.
    /// </summary>
    private CongestionGate? TakeGateToWaitFor()
    {
        CongestionGate? gate = CongestionGate.TakeMet();
        return gate is null || ReferenceEquals(gate.Owner, this) || ReferenceEquals(gate.Owner, Session)
            || (Volatile.Read(ref _rare) is { } rare && ReferenceEquals(gate, rare.StalledGate) && gate.Closings == rare.StalledClosings)
            ? null
            : gate;
    }

    /// <summary>Handles the packets of one read; false when the connection is to end.</summary>
    private bool HandleRead(in ReadResult result)
    {
        CongestionGate.Forget();
        PipeReader input = _transport.Input;
        ReadOnlySequence<byte> buffer = result.Buffer;
        Volatile.Write(ref _lastActivity, _broker.TimeProvider.GetTimestamp());
        if (Volatile.Read(ref _closeRequested) != 0)
        {
            input.AdvanceTo(buffer.End);
            return false;
        }

        long before = buffer.Length;
        bool pausedEarly = false;
        bool batch = SignalBatch.Open();
        try
        {
            while (PacketDecoder.TryReadFrame(buffer, MaximumPacketSize, out FixedHeader header))
            {
                ReadOnlySequence<byte> body = buffer.Slice(header.HeaderLength, header.RemainingLength);
                _receivedPackets++;
                Counters.Increment(CounterId.PacketsReceived);
                HandlePacket(header, body);
                buffer = buffer.Slice(header.PacketLength);
                if (Volatile.Read(ref _closeRequested) != 0)
                {
                    break;
                }

                if (CongestionGate.AnyMet)
                {
                    // Stop here, not at the end of the buffer: the rest waits until the gate opens (loop top).
                    pausedEarly = true;
                    break;
                }
            }
        }
        catch (ProtocolException ex)
        {
            OnProtocolError(ex);
            input.AdvanceTo(buffer.End);
            return false;
        }
        finally
        {
            long consumed = before - buffer.Length;
            _receivedBytes += consumed;
            Counters.Add(CounterId.BytesReceived, consumed);

            // The subscribers this read filled get their writes now, one flush each, on this thread.
            if (batch)
            {
                SignalBatch.Close();
            }
        }

        if (Volatile.Read(ref _closeRequested) != 0)
        {
            input.AdvanceTo(buffer.End);
            return false;
        }

        // Paused with whole packets left: mark only what was consumed as examined, so the next read returns them.
        input.AdvanceTo(buffer.Start, pausedEarly ? buffer.Start : buffer.End);
        if (result.IsCompleted && !pausedEarly)
        {
            SetCloseReason(DisconnectReason.TransportClosed);
            return false;
        }

        return true;
    }

    /// <summary>Waits, at most a second, for the gate <see cref="TakeGateToWaitFor"/> returns to open.</summary>
    private async Task WaitForGateAsync(CancellationToken cancellationToken)
    {
        if (TakeGateToWaitFor() is not { } gate)
        {
            return;
        }

        _broker.CountPublisherPause();
        try
        {
            // Real time on purpose: a bound on how long a socket goes unread, not a protocol timer.
            await gate.WaitOpenAsync().WaitAsync(s_maximumBackPressureWait, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The consumer is not draining: go on, and do not wait on it again until it has drained once; its queue
            // limits drop what does not fit, as they would without back-pressure.
            Rare rare = GetRare();
            rare.StalledGate = gate;
            rare.StalledClosings = gate.Closings;
        }
    }

    /// <summary>
    /// Malformed or forbidden input: v5 gets DISCONNECT (or CONNACK before the session exists) with the reason code,
    /// 3.1/3.1.1 a closed socket [MQTT-4.13.1-1].
    /// </summary>
    private void OnProtocolError(ProtocolException ex)
    {
        BrokerLog.ProtocolError(_broker.Logger, ClientId, ex.ReasonCode, ex.Message);
        if (Volatile.Read(ref _state) == StateAwaitingConnect)
        {
            Counters.Increment(CounterId.PacketsConnackError);
            RejectConnect(ex.ReasonCode, ex.Reason);
            return;
        }

        RequestClose(ex.Reason, ex.ReasonCode);
    }

    /// <summary>Answers a refused CONNECT and closes. 3.1/3.1.1 only have return codes 1..5 [MQTT-3.2.2.3].</summary>
    private void RejectConnect(ReasonCode code, DisconnectReason reason)
    {
        ProtocolVersion version = Version;
        bool sendConnAck = version == ProtocolVersion.V500
            || code is ReasonCode.UnsupportedProtocolVersion or ReasonCode.ClientIdentifierNotValid or ReasonCode.BadUserNameOrPassword
                or ReasonCode.NotAuthorized or ReasonCode.ServerUnavailable or ReasonCode.ServerBusy or ReasonCode.Banned;
        if (sendConnAck)
        {
            // An unknown protocol level gets the 3.1.1 form: a v3 client can read it, a v5 client sees the same code.
            ProtocolVersion replyVersion = version == ProtocolVersion.Unknown ? ProtocolVersion.V311 : version;
            byte[] connAck = Encode(w => PacketEncoder.WriteConnAck(w, new Packets.ConnAckPacket { ReasonCode = code }, replyVersion));
            Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Encoded, Encoded = connAck, SentCounter = CounterId.PacketsConnackSent });
            Counters.Increment(CounterId.ClientConnack);
        }

        SetCloseReason(reason);
        RequestClose(reason, null);
    }

    /// <summary>Asks the connection to close, from any thread. v5 clients get DISCONNECT with <paramref name="code"/> first.</summary>
    public void RequestClose(DisconnectReason reason, ReasonCode? code)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        SetCloseReason(reason);
        if (code is { } reasonCode && IsV5 && Volatile.Read(ref _state) == StateConnected)
        {
            byte[] disconnect = Encode(w => PacketEncoder.WriteDisconnect(w, new Packets.DisconnectPacket { ReasonCode = reasonCode }, ProtocolVersion.V500));
            Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Encoded, Encoded = disconnect, SentCounter = CounterId.PacketsDisconnectSent });
        }

        Outbound.Complete();
        _transport.Input.CancelPendingRead();
    }

    private void SetCloseReason(DisconnectReason reason)
    {
        if (_closeReason == DisconnectReason.None)
        {
            _closeReason = reason;
        }
    }

    private async Task CloseAsync()
    {
        Volatile.Write(ref _state, StateClosing);
        Volatile.Write(ref _closeRequested, 1);
        Task writer = WhenWriterEnded();
        Outbound.Complete();
        try
        {
            // A client that stopped reading must not hold the close forever.
            await writer.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _transport.Output.CancelPendingFlush();
        }

        // Completed above, so nothing is added any more; what the writer did not take would hold pooled messages.
        Outbound.ReleasePending();
        await _transport.Input.CompleteAsync().ConfigureAwait(false);
        await _transport.Output.CompleteAsync().ConfigureAwait(false);
        _broker.OnConnectionClosed(this, _closeReason);
    }

    internal static byte[] Encode(Func<IBufferWriter<byte>, int> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether a delivery fits the client's Maximum Packet Size (checked before a packet id is spent).</summary>
    public bool FitsPacketSize(in QueuedMessage delivery)
    {
        if (ClientMaximumPacketSize == int.MaxValue)
        {
            return true;
        }

        Message message = delivery.Message;
        var publish = new Packets.OutgoingPublish
        {
            QoS = delivery.QoS,
            TopicName = message.TopicBytes,
            Payload = message.Payload,
            Properties = IsV5 ? message.Properties : default,
            HasMessageExpiry = IsV5 && message.ExpiresAt != 0,
            SubscriptionIdentifiers = IsV5 ? delivery.SubscriptionIdentifiers : default,
        };
        return PacketEncoder.GetPublishSize(publish, Version) <= ClientMaximumPacketSize;
    }

    /// <summary>The connection's rarely used state, created the first time any of it is set.</summary>
    private Rare GetRare()
    {
        Rare? rare = Volatile.Read(ref _rare);
        return rare ?? Interlocked.CompareExchange(ref _rare, rare = new Rare(), null) ?? rare;
    }

    /// <summary>
    /// State most connections never use (a will, topic aliases, ACL answers, acks waiting for the store, a stalled
    /// subscriber, the close waiter), in one object made on first use: an idle connection holds one null reference
    /// instead of ten fields. Fields, so that the ACL cache and the writer's waiter can be set with interlocked calls.
    /// </summary>
    private sealed class Rare
    {
        public Message? Will;
        public uint WillDelayInterval;
        public uint WillExpiryInterval;
        public Security.AclCache? AclCache;

        /// <summary>Inbound topic aliases the client set [MQTT-3.3.2.3.4]; connection-scoped, read loop only.</summary>
        public Dictionary<ushort, byte[]>? InboundAliases;

        /// <summary>Topic aliases we assigned toward the client; touched only by the writer.</summary>
        public Dictionary<byte[], ushort>? OutboundAliases;

        public DurableAcks? DurableAcks;

        /// <summary>A subscriber's gate this connection waited out in vain, and how often it had closed then.</summary>
        public CongestionGate? StalledGate;
        public long StalledClosings;

        /// <summary>Set when CloseAsync waits for the writer to end; the writer completes it when it ends.</summary>
        public TaskCompletionSource? WriterEnded;
    }
}
