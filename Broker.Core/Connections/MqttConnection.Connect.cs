using System.Buffers;
using Broker.Core.Codec;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Topics;

namespace Broker.Core.Connections;

internal sealed partial class MqttConnection
{
    // Shared by every connection: queued bytes are only ever read (written to the output pipe).
    private static readonly byte[] s_connAckAccepted = EncodeV3ConnAck(sessionPresent: false);
    private static readonly byte[] s_connAckAcceptedSessionPresent = EncodeV3ConnAck(sessionPresent: true);

    /// <summary>The will to publish if this connection ends abnormally, and its v5 Will Delay Interval.</summary>
    internal Message? Will => Volatile.Read(ref _rare)?.Will;

    internal uint WillDelayInterval => Volatile.Read(ref _rare)?.WillDelayInterval ?? 0;

    /// <summary>
    /// CONNECT [MQTT-3.1.4]: validate, authenticate, take over or create the session, answer CONNACK, then resend
    /// what the session held. Refusals are results (CONNACK with a code), not exceptions.
    /// </summary>
    private void HandleConnect(ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsConnectReceived);
        Counters.Increment(CounterId.ClientConnect);
        if (PeekProtocolLevel(body) == (byte)ProtocolVersion.V500)
        {
            // Known before decoding, so a refusal (a wrong protocol name included) comes as the v5 CONNACK this client reads.
            Version = ProtocolVersion.V500;
        }

        ConnectPacket packet = PacketDecoder.DecodeConnect(body);
        Version = packet.ProtocolVersion;
        if (Info.PeerCertUserName is { } certificateUserName)
        {
            // EMQX's peer_cert_as_username: the certificate's name wins over the packet's for every check that follows.
            packet.UserName = certificateUserName;
        }

        Broker.Core.Configuration.BrokerOptions options = _broker.Options;

        string clientId = packet.ClientId;
        bool assigned = false;
        if (clientId.Length == 0)
        {
            // 3.1 requires an id; 3.1.1 allows an empty one only with Clean Session [MQTT-3.1.3-7]; v5 always [MQTT-3.1.3-6].
            if (Version == ProtocolVersion.V310 || (Version == ProtocolVersion.V311 && !packet.CleanStart))
            {
                Refuse(ReasonCode.ClientIdentifierNotValid);
                return;
            }

            clientId = _broker.NewClientId();
            assigned = true;
        }
        else if (System.Text.Encoding.UTF8.GetByteCount(clientId) > options.MaximumClientIdLength)
        {
            Refuse(ReasonCode.ClientIdentifierNotValid);
            return;
        }

        MqttProperties? properties = packet.Properties;
        if (properties?.AuthenticationMethod is not null)
        {
            // Enhanced authentication (AUTH exchanges) is not offered [MQTT-4.12].
            Refuse(ReasonCode.BadAuthenticationMethod);
            return;
        }

        if (!TryAdmit(clientId, packet))
        {
            return;
        }

        if (packet.Will is { } will && !TryAcceptWill(will, clientId, packet.UserName))
        {
            return;
        }

        if (!IsV5 && packet.KeepAlive > options.MaximumKeepAlive)
        {
            // 3.1/3.1.1 cannot be told a smaller keep alive; mosquitto refuses such a client as "identifier rejected".
            Refuse(ReasonCode.ClientIdentifierNotValid);
            return;
        }

        ClientId = clientId;
        UserName = packet.UserName;
        CleanStart = packet.CleanStart;
        var connAck = new ConnAckPacket { ReasonCode = ReasonCode.Success };
        KeepAlive = packet.KeepAlive;

        if (IsV5)
        {
            SessionExpiryInterval = properties?.SessionExpiryInterval ?? 0;
            if (properties?.ReceiveMaximum is { } receiveMaximum)
            {
                OutboundWindow = Math.Min(options.MaximumInflight, receiveMaximum);
            }

            if (properties?.MaximumPacketSize is { } maxPacket)
            {
                ClientMaximumPacketSize = (int)Math.Min(maxPacket, int.MaxValue);
            }

            ClientTopicAliasMaximum = properties?.TopicAliasMaximum ?? 0;
            MqttProperties ackProperties = BuildConnAckProperties(options, assigned ? clientId : null);
            if (options.ServerKeepAlive > 0 && options.ServerKeepAlive != KeepAlive)
            {
                KeepAlive = (ushort)options.ServerKeepAlive;
                ackProperties.ServerKeepAlive = KeepAlive;
            }
            else if (KeepAlive > options.MaximumKeepAlive || (KeepAlive == 0 && options.MaximumKeepAlive < ushort.MaxValue))
            {
                KeepAlive = (ushort)options.MaximumKeepAlive;
                ackProperties.ServerKeepAlive = KeepAlive;
            }

            connAck.Properties = ackProperties;
        }
        else
        {
            // 3.1.1 has no session expiry: a persistent session lives for the configured interval (EMQX's session_expiry_interval).
            SessionExpiryInterval = packet.CleanStart ? 0 : (uint)Math.Min(options.SessionExpiryInterval.TotalSeconds, uint.MaxValue);
        }

        _broker.AttachSession(this, connAck);
    }

    /// <summary>The Protocol Level byte after the Protocol Name, or 0 when the body is too short to hold it.</summary>
    private static byte PeekProtocolLevel(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        if (reader.TryReadBigEndian(out short nameLength) && reader.Remaining > (ushort)nameLength)
        {
            reader.Advance((ushort)nameLength);
            if (reader.TryRead(out byte level))
            {
                return level;
            }
        }

        return 0;
    }

    private void Refuse(ReasonCode code, bool counted = false)
    {
        if (!counted)
        {
            Counters.Increment(CounterId.PacketsConnackError);
        }

        RejectConnect(code, DisconnectReason.ConnectRefused);
    }

    /// <summary>Checks and keeps the will [MQTT-3.1.2-9]; false (and a refusal sent) when it is not acceptable.</summary>
    private bool TryAcceptWill(WillMessage will, string clientId, string? userName)
    {
        Broker.Core.Configuration.BrokerOptions options = _broker.Options;
        if (!TopicValidator.IsValidTopicName(will.Topic, options.MaximumTopicLevels))
        {
            Refuse(ReasonCode.TopicNameInvalid);
            return false;
        }

        if (will.Topic.AsSpan().StartsWith("$SYS/"u8))
        {
            // $SYS belongs to the broker, as for PUBLISH; mosquitto refuses such a will as not authorized too.
            Refuse(ReasonCode.NotAuthorized);
            return false;
        }

        if (will.QoS > options.MaximumQoS)
        {
            Refuse(ReasonCode.QoSNotSupported);
            return false;
        }

        if (will.Retain && !options.RetainAvailable)
        {
            Refuse(ReasonCode.RetainNotSupported);
            return false;
        }

        byte[] properties = PacketEncoder.EncodeMessageProperties(will.Properties);
        Rare rare = GetRare();
        rare.Will = new Message(will.Topic, will.Payload, will.QoS, will.Retain, properties)
        {
            PublisherClientId = clientId,
            PublisherUserName = userName,
            // Expiry counts from publication, so it is kept as an interval until then.
            ExpiresAt = 0,
        };
        rare.WillExpiryInterval = will.Properties?.MessageExpiryInterval ?? 0;
        rare.WillDelayInterval = will.Properties?.WillDelayInterval ?? 0;
        DropWillIfDenied(clientId, userName);
        return true;
    }

    internal uint WillExpiryInterval => Volatile.Read(ref _rare)?.WillExpiryInterval ?? 0;

    private MqttProperties BuildConnAckProperties(Broker.Core.Configuration.BrokerOptions options, string? assignedClientId)
    {
        var p = new MqttProperties
        {
            ReceiveMaximum = (ushort)Math.Min(options.MaximumAwaitingRel, ushort.MaxValue),
            RetainAvailable = options.RetainAvailable ? (byte)1 : (byte)0,
            MaximumPacketSize = (uint)MaximumPacketSize,
            TopicAliasMaximum = (ushort)options.MaximumTopicAlias,
            WildcardSubscriptionAvailable = options.WildcardSubscriptionAvailable ? (byte)1 : (byte)0,
            SubscriptionIdentifierAvailable = options.SubscriptionIdentifierAvailable ? (byte)1 : (byte)0,
            SharedSubscriptionAvailable = options.SharedSubscriptionAvailable ? (byte)1 : (byte)0,
            AssignedClientIdentifier = assignedClientId,
        };

        // Maximum QoS is sent only below 2: the value 2 is not allowed on the wire [MQTT-3.2.2-9].
        if (options.MaximumQoS < QualityOfService.ExactlyOnce)
        {
            p.MaximumQoS = (byte)options.MaximumQoS;
        }

        return p;
    }

    /// <summary>Called by the broker once the session is bound: the connection is live.</summary>
    internal void OnAttached(Sessions.Session session, ConnAckPacket connAck)
    {
        Session = session;
        _connectedAtTicks = _broker.TimeProvider.GetUtcNow().UtcTicks;
        // A 3.1/3.1.1 CONNACK that accepts is one of two fixed 4-byte packets: no encoding per connect.
        byte[] bytes = !IsV5 && connAck.ReasonCode == ReasonCode.Success
            ? connAck.SessionPresent ? s_connAckAcceptedSessionPresent : s_connAckAccepted
            : Encode(w => PacketEncoder.WriteConnAck(w, connAck, Version));
        Outbound.TryEnqueue(new OutboundItem { Kind = OutboundKind.Encoded, Encoded = bytes, SentCounter = CounterId.PacketsConnackSent });
        Counters.Increment(CounterId.ClientConnack);
        Volatile.Write(ref _state, StateConnected);
    }

    private static byte[] EncodeV3ConnAck(bool sessionPresent)
        => Encode(w => PacketEncoder.WriteConnAck(w, new ConnAckPacket { ReasonCode = ReasonCode.Success, SessionPresent = sessionPresent }, ProtocolVersion.V311));

    /// <summary>A v5 DISCONNECT may change the session expiry, but not from 0 [MQTT-3.14.2-2].</summary>
    private void HandleDisconnect(ReadOnlySequence<byte> body)
    {
        Counters.Increment(CounterId.PacketsDisconnectReceived);
        DisconnectPacket packet = PacketDecoder.DecodeDisconnect(body, Version);
        if (packet.Properties?.SessionExpiryInterval is { } expiry)
        {
            if (SessionExpiryInterval == 0 && expiry != 0)
            {
                ProtocolThrow.ProtocolError("DISCONNECT sets a Session Expiry Interval after CONNECT had 0 [MQTT-3.14.2-2].");
            }

            SessionExpiryInterval = expiry;
        }

        DisconnectReason reason = packet.ReasonCode == ReasonCode.DisconnectWithWillMessage
            ? DisconnectReason.ClientDisconnectWithWill
            : DisconnectReason.ClientDisconnect;
        SetCloseReason(reason);
        RequestClose(reason, null);
    }
}
