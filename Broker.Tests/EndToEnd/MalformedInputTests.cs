using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.EndToEnd;

/// <summary>
/// Hostile bytes over real TCP next to a well-behaved pair of clients: every bad connection is closed, nothing leaks,
/// the good pair loses nothing. Each bad input comes from <c>new Random(Seed + index)</c>, so a failure names the row
/// that reproduces it alone.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class MalformedInputTests
{
    private const int Seed = 1883;
    private const int BadConnections = 200;
    private const int Parallelism = 16;
    private const int MinimumGoodMessages = 50;

    /// <summary>Keep alive of the bad clients that did CONNECT: an input left half-framed is closed after 1.5x this.</summary>
    private const ushort BadKeepAlive = 2;

    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task BadConnections_AreAllClosed_WhileAGoodPairLosesNothing(CancellationToken cancellationToken)
    {
        // Junk that never frames a CONNECT is closed by the connect timeout.
        await using TcpBroker broker = await TcpBroker.StartAsync(o => o.ConnectTimeout = TimeSpan.FromSeconds(2), cancellationToken);
        using NetClient sub = await NetClient.ConnectAsync(broker, "good-sub", MqttProtocolVersion.V500, cancellationToken);
        using NetClient pub = await NetClient.ConnectAsync(broker, "good-pub", MqttProtocolVersion.V311, cancellationToken);
        await sub.SubscribeAsync("good/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        long[] before = Snapshot(broker.Broker.Counters);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<int> publishing = PublishUntilStoppedAsync(pub, stop.Task, cancellationToken);
        var notClosed = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, BadConnections),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                BadInput input = BadInput.Create(index);
                if (!await SendAndExpectCloseAsync(broker, input.Bytes, token))
                {
                    notClosed.Enqueue(input.ToString());
                }
            });
        stop.SetResult();
        int published = await publishing;

        Assert.That(notClosed, Is.Empty, "bad connections the broker left open");
        await Poll.UntilAsync(() => sub.Pending >= published, cancellationToken);
        var received = new List<string>();
        while (sub.TryReceive(out ReceivedMessage? message))
        {
            if (message!.Topic.StartsWith("good/", StringComparison.Ordinal))
            {
                received.Add(message.PayloadText);
            }
        }

        Assert.That(received, Is.EqualTo(Enumerable.Range(0, published).Select(i => i.ToString(CultureInfo.InvariantCulture))), "the good pair's messages, in order");

        // Nothing leaks: only the good pair is left, as connections, sockets and sessions.
        await Poll.UntilAsync(
            () => broker.Connections == 2 && broker.Listener.CurrentConnections == 2 && broker.Broker.Sessions.Count == 2,
            cancellationToken);
        long[] after = Snapshot(broker.Broker.Counters);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sub.Client.IsConnected && pub.Client.IsConnected, Is.True, "the good pair stays connected");
            // First packets that were not a CONNECT, or a CONNECT that did not decode.
            Assert.That(Delta(CounterId.PacketsConnackError), Is.GreaterThan(0));
            // v5 clients told why (DISCONNECT 0x81, 0x82, 0x95) before the close.
            Assert.That(Delta(CounterId.PacketsDisconnectSent), Is.GreaterThan(0));
            // Wildcards in a PUBLISH topic name.
            Assert.That(Delta(CounterId.PacketsPublishError), Is.GreaterThan(0));
            Assert.That(Delta(CounterId.ClientDisconnected), Is.GreaterThan(0));
            Assert.That(broker.Broker.Disconnects.Get(DisconnectReason.MalformedPacket), Is.GreaterThan(0), "closes for malformed packets, v3 and v5");
            Assert.That(broker.Broker.Disconnects.Get(DisconnectReason.ProtocolError), Is.GreaterThan(0), "closes for protocol errors");
            Assert.That(broker.Listener.AcceptedConnections, Is.EqualTo(BadConnections + 2));
        }

        // Still serving.
        using NetClient late = await NetClient.ConnectAsync(broker, "late", MqttProtocolVersion.V500, cancellationToken);
        await late.SubscribeAsync("late/t", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await late.PublishAsync("late/t", "alive", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        Assert.That((await late.ReceiveAsync(cancellationToken)).PayloadText, Is.EqualTo("alive"));

        long Delta(CounterId id) => after[(int)id] - before[(int)id];
    }

    private static long[] Snapshot(BrokerCounters counters)
    {
        long[] values = new long[Enum.GetValues<CounterId>().Length];
        counters.CopyTo(values);
        return values;
    }

    private static async Task<int> PublishUntilStoppedAsync(NetClient pub, Task stop, CancellationToken cancellationToken)
    {
        int n = 0;
        while (!stop.IsCompleted || n < MinimumGoodMessages)
        {
            string text = n.ToString(CultureInfo.InvariantCulture);
            await pub.PublishAsync("good/" + text, text, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            n++;
        }

        return n;
    }

    private static async Task<bool> SendAndExpectCloseAsync(TcpBroker broker, byte[] bytes, CancellationToken cancellationToken)
    {
        using TcpClient client = await broker.ConnectRawAsync(cancellationToken);
        try
        {
            await client.GetStream().WriteAsync(bytes, cancellationToken);
        }
        catch (IOException)
        {
            // Already closed by the broker, part way through.
            return true;
        }

        return await RawMqtt.WaitClosedAsync(client.Client, s_closeTimeout, cancellationToken);
    }

    /// <summary>One hostile connection's bytes, from its own seeded <see cref="Random"/>.</summary>
    private sealed record BadInput(int Index, string Kind, ProtocolVersion Version, byte[] Bytes)
    {
        /// <summary>A packet of type 0 (reserved): malformed wherever it is framed, so a mutated packet that still parses is followed by a certain error.</summary>
        private static readonly byte[] s_terminator = [0x00, 0x00];

        public override string ToString() => $"#{Index} {Kind} {Version}: {Hex.Format(Bytes)}";

        public static BadInput Create(int index)
        {
            var random = new Random(Seed + index);
            ProtocolVersion version = random.Next(2) == 0 ? ProtocolVersion.V311 : ProtocolVersion.V500;
            byte[] connect = RawMqtt.Connect("bad-" + index.ToString(CultureInfo.InvariantCulture), version, BadKeepAlive);
            switch (index % 8)
            {
                case 0:
                    return new(index, "random bytes", version, RandomBytes(random));
                case 1:
                    return new(index, "flipped PUBLISH", version, [.. connect, .. Flip(random, Publish(random, version, index)), .. s_terminator]);
                case 2:
                    return new(index, "flipped SUBSCRIBE", version, [.. connect, .. Flip(random, Subscribe(version, index)), .. s_terminator]);
                case 3:
                    return new(index, "truncated remaining length", version, [.. connect, .. Truncated(random, Publish(random, version, index)), .. s_terminator]);
                case 4:
                    return new(index, "huge remaining length", version, HugeLength(random, connect));
                case 5:
                    return new(index, "bad topic name", version, [.. connect, .. BadTopic(random, version), .. s_terminator]);
                case 6:
                    return new(index, "reserved flags", version, [.. connect, .. ReservedFlags(random), .. s_terminator]);
                default:
                    return new(index, "duplicate property", ProtocolVersion.V500, [.. DuplicateProperty(random, index), .. s_terminator]);
            }
        }

        private static byte[] RandomBytes(Random random)
        {
            byte[] bytes = new byte[random.Next(1, 100)];
            random.NextBytes(bytes);
            return bytes;
        }

        private static byte[] Publish(Random random, ProtocolVersion version, int index)
        {
            byte[] payload = new byte[random.Next(0, 40)];
            random.NextBytes(payload);
            return CodecDriver.Encode(new PublishModel
            {
                TopicName = System.Text.Encoding.UTF8.GetBytes("fuzz/" + index.ToString(CultureInfo.InvariantCulture)),
                Payload = payload,
                QoS = QualityOfService.AtLeastOnce,
                PacketIdentifier = 1,
                // Content type "t" and a user property, so flips land in property blocks too.
                Properties = version == ProtocolVersion.V500 ? Hex.Parse("03 00 01 't' 26 00 01 'k' 00 01 'v'") : [],
            }, version);
        }

        private static byte[] Subscribe(ProtocolVersion version, int index)
            => CodecDriver.Encode(new SubscribePacket
            {
                PacketIdentifier = 2,
                Subscriptions = [new TopicSubscription("fuzz/" + index.ToString(CultureInfo.InvariantCulture) + "/#", QualityOfService.AtLeastOnce)],
            }, version);

        /// <summary>One to three bytes XORed with a non-zero mask.</summary>
        private static byte[] Flip(Random random, byte[] packet)
        {
            int flips = random.Next(1, 4);
            for (int i = 0; i < flips; i++)
            {
                packet[random.Next(packet.Length)] ^= (byte)random.Next(1, 256);
            }

            return packet;
        }

        /// <summary>The remaining length cut to end inside the topic name: a short field inside the frame.</summary>
        private static byte[] Truncated(Random random, byte[] packet)
        {
            // Fixed header of a short PUBLISH is two bytes; the topic is "00 len 'fuzz/..'".
            int topicEnd = 2 + 2 + packet[3];
            int cut = random.Next(0, topicEnd - 2);
            return [packet[0], (byte)cut, .. packet.AsSpan(2, cut)];
        }

        private static byte[] HugeLength(Random random, byte[] connect) => random.Next(4) switch
        {
            // 268,435,455: far above the maximum packet size, refused on the fixed header [MQTT-3.1.2-24].
            0 => [.. connect, 0x30, 0xFF, 0xFF, 0xFF, 0x7F],
            // A fifth length byte [MQTT-1.5.5].
            1 => [.. connect, 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            // A CONNECT claiming 2 MB as the very first packet.
            2 => [0x10, 0x80, 0x80, 0x80, 0x01],
            // A length not minimally encoded [MQTT-1.5.5-1].
            _ => [.. connect, 0x30, 0x80, 0x80, 0x00],
        };

        private static byte[] BadTopic(Random random, ProtocolVersion version)
        {
            byte[][] topics =
            [
                [0xC3, 0x28],                 // ill-formed UTF-8 [MQTT-1.5.4-1]
                [0xED, 0xA0, 0x80],           // a UTF-16 surrogate encoded [MQTT-1.5.4-1]
                [0xC0, 0xAF],                 // overlong encoding of '/'
                [(byte)'a', 0x00, (byte)'b'], // U+0000 [MQTT-1.5.4-2]
                "a/+"u8.ToArray(),            // wildcards in a topic name [MQTT-3.3.2-2]
                "#"u8.ToArray(),
                [0xFF, 0xFE],
            ];
            byte[] topic = topics[random.Next(topics.Length)];
            byte[] properties = version == ProtocolVersion.V500 ? [0x00] : [];
            return PacketBuilder.Frame(0x30, [0x00, (byte)topic.Length], topic, properties, "x"u8.ToArray());
        }

        private static byte[] ReservedFlags(Random random)
        {
            byte[][] packets =
            [
                Hex.Parse("36 08 00 03 'a/b' 00 01 00"), // PUBLISH QoS 3 [MQTT-3.3.1-4]
                Hex.Parse("38 05 00 03 'a/b'"),          // PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]
                Hex.Parse("80 06 00 01 00 01 'a' 00"),   // SUBSCRIBE flags 0000 [MQTT-3.8.1-1]
                Hex.Parse("A0 05 00 01 00 01 'a'"),      // UNSUBSCRIBE flags 0000 [MQTT-3.10.1-1]
                Hex.Parse("60 02 00 01"),                // PUBREL flags 0000 [MQTT-3.6.1-1]
                Hex.Parse("C1 00"),                      // PINGREQ flags 0001 [MQTT-2.1.3-1]
                Hex.Parse("E2 00"),                      // DISCONNECT flags 0010 [MQTT-2.1.3-1]
            ];
            return packets[random.Next(packets.Length)];
        }

        private static byte[] DuplicateProperty(Random random, int index)
        {
            byte[] connect = RawMqtt.Connect("bad-" + index.ToString(CultureInfo.InvariantCulture), ProtocolVersion.V500, BadKeepAlive);
            return random.Next(4) switch
            {
                // Payload Format Indicator twice [MQTT-3.3.2.3.2].
                0 => [.. connect, .. PacketBuilder.Frame(0x32, Hex.Parse("00 03 'a/b' 00 01"), PacketBuilder.Properties("01 00 01 01"), Hex.Parse("'p'"))],
                // Message Expiry Interval twice.
                1 => [.. connect, .. PacketBuilder.Frame(0x32, Hex.Parse("00 03 'a/b' 00 01"), PacketBuilder.Properties("02 00 00 00 05 02 00 00 00 06"), Hex.Parse("'p'"))],
                // Subscription Identifier twice in SUBSCRIBE [MQTT-3.8.2.1.2].
                2 => [.. connect, .. PacketBuilder.Frame(0x82, Hex.Parse("00 01"), PacketBuilder.Properties("0B 01 0B 02"), Hex.Parse("00 01 'a' 01"))],
                // Session Expiry Interval twice, in the CONNECT itself.
                _ => PacketBuilder.Frame(0x10, Hex.Parse("00 04 'MQTT' 05 02 00 02"), PacketBuilder.Properties("11 00 00 00 0A 11 00 00 00 0B"), Hex.Parse("00 03 'dup'")),
            };
        }
    }
}

/// <summary>The reason code a v5 client is told before the broker closes on bad input; a 3.1.1 client is just closed [MQTT-4.13.1-1].</summary>
[TestFixture]
[CancelAfter(20_000)]
public sealed class MalformedInputDisconnectTests
{
    private const int MaximumPacketSize = 128;

    // Each row follows a successful CONNECT.
    [TestCase("30 FF FF FF FF 01", ReasonCode.MalformedPacket)]                         // a fifth remaining length byte [MQTT-1.5.5]
    [TestCase("30 80 80 00", ReasonCode.MalformedPacket)]                               // remaining length not minimally encoded [MQTT-1.5.5-1]
    [TestCase("30 81 01", ReasonCode.PacketTooLarge)]                                   // 132 bytes > Maximum Packet Size 128, refused on the header [MQTT-3.2.2-15]
    [TestCase("36 09 00 03 'a/b' 00 01 00 'p'", ReasonCode.MalformedPacket)]            // PUBLISH QoS 3 [MQTT-3.3.1-4]
    [TestCase("38 07 00 03 'a/b' 00 'p'", ReasonCode.MalformedPacket)]                  // PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]
    [TestCase("82 03 00 01 00", ReasonCode.ProtocolError)]                              // SUBSCRIBE without a topic filter [MQTT-3.8.3-2]
    [TestCase("80 07 00 01 00 00 01 'a' 00", ReasonCode.MalformedPacket)]               // SUBSCRIBE flags 0000 [MQTT-3.8.1-1]
    [TestCase("30 06 00 02 C3 28 00 'p'", ReasonCode.MalformedPacket)]                  // ill-formed UTF-8 topic [MQTT-1.5.4-1]
    [TestCase("32 0D 00 03 'a/b' 00 01 04 01 00 01 01 'p'", ReasonCode.ProtocolError)]  // Payload Format Indicator twice [MQTT-3.3.2.3.2]
    [TestCase("82 0B 00 01 04 0B 01 0B 02 00 01 'a' 01", ReasonCode.ProtocolError)]     // Subscription Identifier twice [MQTT-3.8.2.1.2]
    [TestCase("30 07 00 03 'a/+' 00 'p'", ReasonCode.TopicNameInvalid)]                 // wildcard in a topic name [MQTT-3.3.2-2]
    public async Task V5_BadPacketAfterConnect_GetsDisconnectWithReasonCode_ThenClose(string bytes, ReasonCode expected)
    {
        await using var broker = new TestBroker(o => o.MaximumPacketSize = MaximumPacketSize);
        PipeClient client = await broker.ConnectAsync("c", ProtocolVersion.V500);

        await client.SendAsync(Hex.Parse(bytes));

        DisconnectPacket? disconnect = await client.ExpectClosedAsync();
        Assert.That(disconnect?.ReasonCode, Is.EqualTo(expected), "DISCONNECT reason code");
        Assert.That(BadInputCloses(broker), Is.EqualTo(1), "counted as a malformed packet or protocol error");
    }

    [TestCase("30 FF FF FF FF 01")]                  // a fifth remaining length byte [MQTT-1.5.5]
    [TestCase("30 81 01")]                           // above Maximum Packet Size
    [TestCase("36 08 00 03 'a/b' 00 01 'p'")]        // PUBLISH QoS 3 [MQTT-3.3.1-4]
    [TestCase("80 06 00 01 00 01 'a' 00")]           // SUBSCRIBE flags 0000 [MQTT-3.8.1-1]
    [TestCase("30 05 00 02 C3 28 'p'")]              // ill-formed UTF-8 topic [MQTT-1.5.4-1]
    [TestCase("00 00")]                              // packet type 0 is reserved [MQTT-2.1.2]
    public async Task V311_BadPacketAfterConnect_IsClosedWithoutDisconnect(string bytes)
    {
        await using var broker = new TestBroker(o => o.MaximumPacketSize = MaximumPacketSize);
        PipeClient client = await broker.ConnectAsync("c", ProtocolVersion.V311);

        await client.SendAsync(Hex.Parse(bytes));

        Assert.That(await client.ExpectClosedAsync(), Is.Null, "3.1.1 has no DISCONNECT from the server");
        Assert.That(BadInputCloses(broker), Is.EqualTo(1), "counted as a malformed packet or protocol error");
    }

    [Test]
    public async Task V5_BadPacket_PublishesTheWill()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("watcher", ProtocolVersion.V500);
        await watcher.SubscribeAsync("will/#", QualityOfService.AtMostOnce);
        PipeClient bad = await broker.ConnectAsync("bad", ProtocolVersion.V500, configure: c => c.Will = new WillMessage { Topic = "will/bad"u8.ToArray(), Payload = "x"u8.ToArray() });

        await bad.SendAsync(Hex.Parse("36 09 00 03 'a/b' 00 01 00 'p'"));

        Assert.That((await bad.ExpectClosedAsync())?.ReasonCode, Is.EqualTo(ReasonCode.MalformedPacket));
        await watcher.ExpectPublishAsync("will/bad", "x");
    }

    private static long BadInputCloses(TestBroker broker)
        => broker.Broker.Disconnects.Get(DisconnectReason.MalformedPacket) + broker.Broker.Disconnects.Get(DisconnectReason.ProtocolError);
}
