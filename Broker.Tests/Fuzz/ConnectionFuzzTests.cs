using System.Collections.Concurrent;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.EndToEnd;
using Broker.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests.Fuzz;

/// <summary>
/// The mutational fuzzer against live connections over in-memory pipes: each hostile connection sends a CONNECT (or
/// a mutated one), then corpus packets mutated by <see cref="Mutator"/>, then a reserved packet type. Meanwhile a
/// well-behaved pair exchanges QoS 1 messages. The pair loses nothing; every hostile connection is closed (at once, or
/// by its keep alive or the connect timeout when it stopped half way through a frame), v5 ones with an error reason
/// code when told; nothing is logged as an unexpected error; the connection count returns to the pair.
/// </summary>
[TestFixture]
public sealed class ConnectionFuzzTests
{
    private const int Seed = 5_000;
    private const int BadConnections = 300;
    private const int GoodMessages = 200;

    private static readonly PacketType[] s_clientTypes =
        [PacketType.Publish, PacketType.PubAck, PacketType.PubRec, PacketType.PubRel, PacketType.PubComp, PacketType.Subscribe, PacketType.Unsubscribe, PacketType.PingReq, PacketType.Auth];

    [Test, CancelAfter(120_000)]
    public async Task MutatedStreams_AreClosed_WhileAGoodPairLosesNothing(CancellationToken cancellationToken)
    {
        var logs = new ErrorCountingLoggerFactory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new BrokerOptions { SysInterval = TimeSpan.Zero, ProcessMemoryHighWatermark = 1, ConnectTimeout = TimeSpan.FromSeconds(5) };
        var broker = new MqttBroker(options, logs, time);
        var bad = new ConcurrentBag<(PipeClient Client, bool ValidConnect)>();
        PipeClient sub = await PipeClient.ConnectAsync(broker, "good-sub", ProtocolVersion.V500);
        PipeClient pub = await PipeClient.ConnectAsync(broker, "good-pub", ProtocolVersion.V311);
        try
        {
            await sub.SubscribeAsync("good/#", QualityOfService.AtLeastOnce);
            Task<List<int>> receiving = Task.Run(async () =>
            {
                var received = new List<int>();
                while (received.Count < GoodMessages)
                {
                    PublishModel delivery = await sub.ExpectAsync<PublishModel>();
                    received.Add(BitConverter.ToInt32(delivery.Payload));
                    await sub.SendAckAsync(PacketType.PubAck, delivery.PacketIdentifier);
                }

                return received;
            }, cancellationToken);
            Task publishing = Task.Run(async () =>
            {
                for (int i = 1; i <= GoodMessages; i++)
                {
                    await pub.PublishAsync("good/t", BitConverter.GetBytes(i), QualityOfService.AtLeastOnce, (ushort)i);
                    await pub.ExpectAckAsync(PacketType.PubAck, (ushort)i);
                }
            }, cancellationToken);

            IReadOnlyList<CorpusEntry> corpus = FuzzCorpus.Seeds;
            await Parallel.ForEachAsync(
                Enumerable.Range(0, BadConnections),
                new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                async (index, _) =>
                {
                    (ProtocolVersion version, bool validConnect, byte[] bytes) = BadStream(index, corpus);
                    var client = new PipeClient(broker, version);
                    bad.Add((client, validConnect));
                    await client.SendAsync(bytes);
                });

            await publishing.WaitAsync(cancellationToken);
            Assert.That(await receiving.WaitAsync(cancellationToken), Is.EqualTo(Enumerable.Range(1, GoodMessages)), "the good pair's messages, all and in order");

            // Inputs that stopped inside a frame wait for the rest: the keep alive (2 s, 3 s with its grace) or the
            // connect timeout (5 s) closes them. Time moves a second at a time until every one has been closed.
            while (!bad.All(b => b.Client.Served.IsCompleted))
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(10, cancellationToken);
            }

            foreach ((PipeClient client, bool validConnect) in bad)
            {
                if (client.Version != ProtocolVersion.V500 || !validConnect)
                {
                    continue;
                }

                foreach (object packet in await DrainAsync(client))
                {
                    if (packet is DisconnectPacket disconnect)
                    {
                        Assert.That((int)disconnect.ReasonCode, Is.GreaterThanOrEqualTo(0x80).Or.EqualTo(0x04), "a broker DISCONNECT after bad input carries an error code");
                    }
                }
            }

            await Poll.UntilAsync(() => broker.Stats.GetCount(StatId.Connections) == 2, cancellationToken);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(broker.Disconnects.Get(Core.Diagnostics.DisconnectReason.MalformedPacket), Is.GreaterThan(BadConnections / 4), "closes for malformed packets");
                Assert.That(broker.Disconnects.Get(Core.Diagnostics.DisconnectReason.ProtocolError), Is.GreaterThan(0), "closes for protocol errors");
                Assert.That(broker.Counters.Get(CounterId.PacketsDisconnectSent), Is.GreaterThan(0), "v5 clients told why");
            }

            Assert.That(logs.Errors, Is.Empty, "nothing was logged as an unexpected error");

            // Still serving, and the pair is still connected.
            await pub.PublishAsync("good/t", BitConverter.GetBytes(GoodMessages + 1), QualityOfService.AtLeastOnce, 1);
            await pub.ExpectAckAsync(PacketType.PubAck, 1);
            Assert.That(BitConverter.ToInt32((await sub.ExpectAsync<PublishModel>()).Payload), Is.EqualTo(GoodMessages + 1));
        }
        finally
        {
            foreach ((PipeClient client, _) in bad)
            {
                await client.DisposeAsync();
            }

            await sub.DisposeAsync();
            await pub.DisposeAsync();
            await broker.DisposeAsync();
        }
    }

    /// <summary>One hostile connection's bytes, from its own seeded <see cref="Random"/>.</summary>
    private static (ProtocolVersion Version, bool ValidConnect, byte[] Bytes) BadStream(int index, IReadOnlyList<CorpusEntry> corpus)
    {
        var random = new Random(Seed + index);
        var mutator = new Mutator(random, corpus);
        ProtocolVersion version = random.Next(2) == 0 ? ProtocolVersion.V311 : ProtocolVersion.V500;
        byte[] connect = RawMqtt.Connect("bad-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture), version, keepAlive: 2);
        if (index % 6 == 0)
        {
            return (version, false, [.. mutator.Mutate(connect), .. Mutator.Terminator]);
        }

        var stream = new List<byte>(connect);
        int packets = random.Next(1, 5);
        for (int p = 0; p < packets; p++)
        {
            CorpusEntry entry = PickClientPacket(random, corpus, version);
            stream.AddRange(random.Next(3) == 0 ? entry.Bytes : mutator.Mutate(entry.Bytes));
        }

        stream.AddRange(Mutator.Terminator);
        return (version, true, [.. stream]);
    }

    private static CorpusEntry PickClientPacket(Random random, IReadOnlyList<CorpusEntry> corpus, ProtocolVersion version)
    {
        while (true)
        {
            CorpusEntry entry = corpus[random.Next(corpus.Count)];
            bool sameFamily = (entry.Version == ProtocolVersion.V500) == (version == ProtocolVersion.V500);
            PacketType type = (PacketType)(entry.Bytes[0] >> 4);
            if (sameFamily && s_clientTypes.Contains(type))
            {
                return entry;
            }
        }
    }

    /// <summary>Everything the broker sent before it closed; what the client cannot decode is not the broker's fault here.</summary>
    private static async Task<List<object>> DrainAsync(PipeClient client)
    {
        var packets = new List<object>();
        try
        {
            while (await client.ReceiveAsync(TimeSpan.FromSeconds(10)) is { } packet)
            {
                packets.Add(packet);
            }
        }
        catch (AssertionException)
        {
        }

        return packets;
    }

    /// <summary>Collects log entries at Error and above (the connection loop's "unexpected error").</summary>
    private sealed class ErrorCountingLoggerFactory : ILoggerFactory, ILogger
    {
        public ConcurrentQueue<string> Errors { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Errors.Enqueue(formatter(state, exception) + " " + exception);
            }
        }
    }
}
