using System.Buffers;
using System.Text;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Support;

/// <summary>
/// One packet per <see cref="PacketCase"/>, as objects for the encoder and as wire bytes for the decoder: a 39-byte
/// topic, a 64-byte payload, and for v5 a content type, a user property and a message expiry.
/// </summary>
internal sealed class PacketFixtures
{
    public static readonly byte[] Topic = Encoding.UTF8.GetBytes("sensors/building-1/floor-3/temperature");
    public static readonly byte[] Payload = CreatePayload(64);

    public PacketFixtures()
    {
        PublishProperties = PacketEncoder.EncodeMessageProperties(new MqttProperties
        {
            ContentType = "application/json",
            UserProperties = [new UserProperty("trace", "0af7651916cd43dd8448eb211c80319c")],
        });
        var will = new WillMessage { Topic = Encoding.UTF8.GetBytes("clients/bench-client/status"), Payload = "offline"u8.ToArray(), QoS = QualityOfService.AtLeastOnce };
        ConnectV311 = new ConnectPacket { ClientId = "bench-client-0001", KeepAlive = 60, UserName = "bench", Password = "secret"u8.ToArray(), Will = will };
        ConnectV5 = new ConnectPacket
        {
            ClientId = "bench-client-0001",
            ProtocolVersion = ProtocolVersion.V500,
            KeepAlive = 60,
            UserName = "bench",
            Password = "secret"u8.ToArray(),
            Properties = new MqttProperties { SessionExpiryInterval = 3600, ReceiveMaximum = 64, TopicAliasMaximum = 16 },
            Will = will,
        };
        ConnAck = new ConnAckPacket { ReasonCode = ReasonCode.Success, Properties = new MqttProperties { ReceiveMaximum = 64, TopicAliasMaximum = 16, AssignedClientIdentifier = "auto-0001" } };
        Subscribe = new SubscribePacket
        {
            PacketIdentifier = 7,
            Subscriptions = [new TopicSubscription("sensors/+/floor-3/#", QualityOfService.AtLeastOnce), new TopicSubscription("alerts/#", QualityOfService.AtMostOnce, NoLocal: true)],
            Properties = new MqttProperties { SubscriptionIdentifiers = [42] },
        };
        SubAck = new SubAckPacket { PacketIdentifier = 7, ReasonCodes = [ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS0] };
        Unsubscribe = new UnsubscribePacket { PacketIdentifier = 8, TopicFilters = ["sensors/+/floor-3/#", "alerts/#"] };
        UnsubAck = new UnsubAckPacket { PacketIdentifier = 8, ReasonCodes = [ReasonCode.Success, ReasonCode.Success] };
        Disconnect = new DisconnectPacket { ReasonCode = ReasonCode.NormalDisconnection, Properties = new MqttProperties { SessionExpiryInterval = 0 } };
        Auth = new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, Properties = new MqttProperties { AuthenticationMethod = "SCRAM-SHA-256", AuthenticationData = new byte[32] } };

        foreach (PacketCase c in Enum.GetValues<PacketCase>())
        {
            var output = new ArrayBufferWriter<byte>(256);
            Write(c, output);
            _wire[(int)c] = output.WrittenSpan.ToArray();
        }
    }

    private readonly byte[][] _wire = new byte[Enum.GetValues<PacketCase>().Length][];

    public byte[] PublishProperties { get; }

    public ConnectPacket ConnectV311 { get; }

    public ConnectPacket ConnectV5 { get; }

    public ConnAckPacket ConnAck { get; }

    public SubscribePacket Subscribe { get; }

    public SubAckPacket SubAck { get; }

    public UnsubscribePacket Unsubscribe { get; }

    public UnsubAckPacket UnsubAck { get; }

    public DisconnectPacket Disconnect { get; }

    public AuthPacket Auth { get; }

    public static ProtocolVersion VersionOf(PacketCase c) => c is PacketCase.ConnectV311 or PacketCase.PublishQoS0V311 or PacketCase.PublishQoS1V311
        ? ProtocolVersion.V311
        : ProtocolVersion.V500;

    public byte[] Wire(PacketCase c) => _wire[(int)c];

    /// <summary>Encodes <paramref name="c"/>: the encoder suite's operation, and how the decoder's input is made.</summary>
    public int Write(PacketCase c, IBufferWriter<byte> output)
    {
        ProtocolVersion version = VersionOf(c);
        return c switch
        {
            PacketCase.ConnectV311 => PacketEncoder.WriteConnect(output, ConnectV311),
            PacketCase.ConnectV5 => PacketEncoder.WriteConnect(output, ConnectV5),
            PacketCase.ConnAckV5 => PacketEncoder.WriteConnAck(output, ConnAck, version),
            PacketCase.PublishQoS0V311 => WritePublish(output, QualityOfService.AtMostOnce, version, withProperties: false),
            PacketCase.PublishQoS0V5Props => WritePublish(output, QualityOfService.AtMostOnce, version, withProperties: true),
            PacketCase.PublishQoS1V311 => WritePublish(output, QualityOfService.AtLeastOnce, version, withProperties: false),
            PacketCase.PublishQoS1V5Props => WritePublish(output, QualityOfService.AtLeastOnce, version, withProperties: true),
            PacketCase.PubAck => PacketEncoder.WritePublishAck(output, PacketType.PubAck, 1234, version),
            PacketCase.PubRecV5Reason => PacketEncoder.WritePublishAck(output, PacketType.PubRec, 1234, version, ReasonCode.NoMatchingSubscribers),
            PacketCase.PubRel => PacketEncoder.WritePublishAck(output, PacketType.PubRel, 1234, version),
            PacketCase.PubComp => PacketEncoder.WritePublishAck(output, PacketType.PubComp, 1234, version),
            PacketCase.SubscribeV5 => PacketEncoder.WriteSubscribe(output, Subscribe, version),
            PacketCase.SubAckV5 => PacketEncoder.WriteSubAck(output, SubAck, version),
            PacketCase.UnsubscribeV5 => PacketEncoder.WriteUnsubscribe(output, Unsubscribe, version),
            PacketCase.UnsubAckV5 => PacketEncoder.WriteUnsubAck(output, UnsubAck, version),
            PacketCase.PingReq => PacketEncoder.WritePingReq(output),
            PacketCase.PingResp => PacketEncoder.WritePingResp(output),
            PacketCase.DisconnectV5 => PacketEncoder.WriteDisconnect(output, Disconnect, version),
            PacketCase.AuthV5 => PacketEncoder.WriteAuth(output, Auth),
            _ => throw new ArgumentOutOfRangeException(nameof(c), c, null),
        };
    }

    private int WritePublish(IBufferWriter<byte> output, QualityOfService qos, ProtocolVersion version, bool withProperties)
    {
        var publish = new OutgoingPublish
        {
            QoS = qos,
            PacketIdentifier = qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)1234,
            TopicName = Topic,
            Payload = Payload,
        };
        if (withProperties)
        {
            publish.Properties = PublishProperties;
            publish.HasMessageExpiry = true;
            publish.MessageExpiryInterval = 300;
        }

        return PacketEncoder.WritePublish(output, publish, version);
    }

    private static byte[] CreatePayload(int length)
    {
        byte[] payload = new byte[length];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)('a' + (i % 26));
        }

        return payload;
    }
}
