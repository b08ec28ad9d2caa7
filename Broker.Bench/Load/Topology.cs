using System.Globalization;
using System.Net;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// The connections of one scenario: who publishes on which topic, who subscribes to which filter, and which
/// (publisher, bitmap) streams the loss check adds up. Subscribers connect and subscribe before any publisher exists,
/// so nothing published is missed by design.
/// </summary>
internal sealed class Topology : IDisposable
{
    private const int SubscriberBuffer = 256 * 1024;
    private const int PublisherBuffer = 16 * 1024;
    private const int IdleBuffer = 256;
    private const int PublisherSendBuffer = 256 * 1024;
    private const int MaximumLoggedSamples = 1 << 22;   // --latency-log, over all subscribers: 64 MB
    public const int ConnectParallelism = 64;

    public List<Publisher> Publishers { get; } = [];

    public List<Subscriber> Subscribers { get; } = [];

    /// <summary>One entry per (publisher, receiving subscriber or share group): the unit of the loss count.</summary>
    public List<(Publisher Publisher, SequenceBitmap Received)> Streams { get; } = [];

    public List<MqttLoadConnection> IdleConnections { get; } = [];

    private List<MqttLoadConnection> Connections { get; } = [];

    public static async Task<Topology> BuildAsync(LoadOptions options, MeasureWindow window, CancellationToken cancellationToken)
    {
        var topology = new Topology();
        try
        {
            await topology.BuildCoreAsync(options, window, cancellationToken).ConfigureAwait(false);
            return topology;
        }
        catch
        {
            topology.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (Connections)
        {
            foreach (MqttLoadConnection connection in Connections)
            {
                connection.Abort();
            }

            Connections.Clear();
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> connections, <see cref="ConnectParallelism"/> handshakes at a time. Any failure
    /// throws, unless <paramref name="failures"/> is given: then failed slots stay null and are counted there.
    /// <paramref name="noDelay"/> false is for connections that send nothing after CONNECT (idle): one setsockopt less.
    /// </summary>
    public static async Task<MqttLoadConnection?[]> ConnectManyAsync(EndPoint broker, string prefix, int count, ProtocolVersion version, int bufferSize, int sendBufferSize, Func<MqttLoadConnection, int, Task>? setup, ConnectFailures? failures, CancellationToken cancellationToken, bool cleanStart = true, bool noDelay = true)
    {
        var run = new ConnectRun(broker, new ConnectTemplate(prefix, count, version, cleanStart), new MqttLoadConnection?[count], bufferSize, sendBufferSize, noDelay, setup, failures);
        var workers = new Task[Math.Min(ConnectParallelism, count)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = run.WorkAsync(cancellationToken);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return run.Connections;
    }

    public static EndPoint ResolveBroker(LoadOptions options)
        => IPAddress.TryParse(options.Host, out IPAddress? address) ? new IPEndPoint(address, options.Port) : new DnsEndPoint(options.Host, options.Port);

    private async Task BuildCoreAsync(LoadOptions options, MeasureWindow window, CancellationToken cancellationToken)
    {
        EndPoint broker = ResolveBroker(options);
        string prefix = string.Create(CultureInfo.InvariantCulture, $"load{Environment.ProcessId}-");
        int publishers = options.Publishers;
        QualityOfService qos = options.QoS;

        // Per subscriber: the filter it subscribes to and the bitmaps (by publisher id) it fills.
        var filters = new string[options.Subscribers];
        var streams = new SequenceBitmap?[options.Subscribers][];
        var topics = new string[publishers];
        bool ordered = true;
        switch (options.Scenario)
        {
            case Scenario.FanIn:
                for (int p = 0; p < publishers; p++)
                {
                    topics[p] = $"bench/{p}";
                }

                filters[0] = "bench/#";
                streams[0] = NewBitmaps(publishers);
                break;
            case Scenario.Pairs:
                for (int p = 0; p < publishers; p++)
                {
                    topics[p] = $"bench/pair/{p}";
                    filters[p] = topics[p];
                    streams[p] = new SequenceBitmap?[publishers];
                    streams[p][p] = new SequenceBitmap();
                }

                break;
            case Scenario.FanOut:
            case Scenario.Latency:
                string topic = options.Scenario == Scenario.FanOut ? "bench/fanout" : "bench/latency";
                Array.Fill(topics, topic);
                ordered = !options.Share;
                SequenceBitmap?[] group = NewBitmaps(publishers);
                for (int s = 0; s < options.Subscribers; s++)
                {
                    filters[s] = options.Share ? "$share/g/" + topic : topic;
                    streams[s] = options.Share ? group : NewBitmaps(publishers);
                }

                break;
            default:
                throw new InvalidOperationException($"{options.Scenario} has no publishers");
        }

        MqttLoadConnection?[] subscribers = await ConnectManyAsync(broker, prefix + "sub", options.Subscribers, options.Protocol, SubscriberBuffer, 0,
            (c, i) => c.SubscribeAsync(filters[i], qos, cancellationToken), null, cancellationToken, options.CleanSession).ConfigureAwait(false);
        Track(subscribers);
        for (int s = 0; s < subscribers.Length; s++)
        {
            var subscriber = new Subscriber(subscribers[s]!, streams[s], ordered, options.PayloadSize, window);
            if (options.LatencyLogPath is not null)
            {
                subscriber.KeepSamples(Math.Max(1024, MaximumLoggedSamples / subscribers.Length));
            }

            Subscribers.Add(subscriber);
        }

        if (options.IdleSubscribers > 0)
        {
            MqttLoadConnection?[] idle = await ConnectManyAsync(broker, prefix + "idle", options.IdleSubscribers, options.Protocol, IdleBuffer, 0,
                (c, i) => c.SubscribeAsync(string.Create(CultureInfo.InvariantCulture, $"idle/{i}/data"), qos, cancellationToken), null, cancellationToken).ConfigureAwait(false);
            Track(idle);
            IdleConnections.AddRange(idle!);
        }

        MqttLoadConnection?[] publisherConnections = await ConnectManyAsync(broker, prefix + "pub", publishers, options.Protocol, PublisherBuffer, PublisherSendBuffer, null, null, cancellationToken).ConfigureAwait(false);
        Track(publisherConnections);
        for (int p = 0; p < publishers; p++)
        {
            Publishers.Add(new Publisher(p, publisherConnections[p]!, topics[p], qos, options.PayloadSize, options.Window, paced: options.Rate > 0));
        }

        var seen = new HashSet<SequenceBitmap>(ReferenceEqualityComparer.Instance);
        foreach (SequenceBitmap?[] byPublisher in streams)
        {
            for (int p = 0; p < byPublisher.Length; p++)
            {
                if (byPublisher[p] is SequenceBitmap bitmap && seen.Add(bitmap))
                {
                    Streams.Add((Publishers[p], bitmap));
                }
            }
        }
    }

    private static SequenceBitmap?[] NewBitmaps(int count)
    {
        var bitmaps = new SequenceBitmap?[count];
        for (int i = 0; i < count; i++)
        {
            bitmaps[i] = new SequenceBitmap();
        }

        return bitmaps;
    }

    private void Track(MqttLoadConnection?[] connections)
    {
        lock (Connections)
        {
            foreach (MqttLoadConnection? connection in connections)
            {
                Connections.Add(connection!);
            }
        }
    }
}

/// <summary>Connection attempts that failed, with the first reason, for scenarios that carry on regardless (idle).</summary>
internal sealed class ConnectFailures
{
    private int _count;
    private string? _first;

    public int Count => Volatile.Read(ref _count);

    public string? First => Volatile.Read(ref _first);

    public void Add(Exception exception) => Add(exception.Message);

    public void Add(string reason)
    {
        Interlocked.Increment(ref _count);
        Interlocked.CompareExchange(ref _first, reason, null);
    }
}

/// <summary>
/// One <see cref="Topology.ConnectManyAsync"/>: workers take the next index from a shared counter until all are
/// taken, so each worker is one async loop (one state machine for its whole run) rather than a task per connection.
/// The first failure that is not counted stops the others from starting new connects and is rethrown.
/// </summary>
internal sealed class ConnectRun(EndPoint broker, ConnectTemplate template, MqttLoadConnection?[] connections, int bufferSize, int sendBufferSize, bool noDelay, Func<MqttLoadConnection, int, Task>? setup, ConnectFailures? failures)
{
    private int _next = -1;
    private volatile bool _stopped;

    public ConnectTemplate Template => template;

    public MqttLoadConnection?[] Connections => connections;

    public async Task WorkAsync(CancellationToken cancellationToken)
    {
        byte[] packet = template.NewPacket();   // this worker's own CONNECT, its client id rewritten per connection
        int i;
        while (!_stopped && (i = Interlocked.Increment(ref _next)) < connections.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            template.SetIndex(packet, i);
            try
            {
                MqttLoadConnection connection = await MqttLoadConnection.ConnectAsync(broker, packet, template.Version, bufferSize, sendBufferSize, noDelay, cancellationToken).ConfigureAwait(false);
                connections[i] = connection;
                if (setup is not null)
                {
                    await setup(connection, i).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (failures is not null && ex is System.Net.Sockets.SocketException or InvalidOperationException)
            {
                failures.Add(ex);
            }
            catch
            {
                _stopped = true;
                throw;
            }
        }
    }
}
