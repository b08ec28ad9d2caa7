using System.Diagnostics;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// Runs a traffic scenario: warm-up, the measured window, then a drain in which publishers stop, in-flight QoS 1/2
/// messages complete and subscribers catch up, so that loss is counted on everything sent, not on a moving tail.
/// Rates, CPU and latency come from the window only.
/// </summary>
internal static class LoadRun
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_drainLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_quietPeriod = TimeSpan.FromSeconds(3);

    /// <summary>
    /// With QoS 1/2 every missing message was acknowledged, so the broker owes it: wait longer before calling it lost,
    /// because a broker starved of CPU on a shared machine can go quiet for seconds and still deliver.
    /// </summary>
    private static readonly TimeSpan s_acknowledgedQuietPeriod = TimeSpan.FromSeconds(10);

    public static async Task<LoadResult> RunAsync(LoadOptions options, ProcessSampler? broker, CancellationToken cancellationToken)
    {
        var result = new LoadResult { Options = options };
        var window = new MeasureWindow();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using Topology topology = await Topology.BuildAsync(options, window, cancellationToken).ConfigureAwait(false);

        var loops = new List<Task>();
        foreach (Subscriber subscriber in topology.Subscribers)
        {
            loops.Add(Task.Run(() => subscriber.RunReceiveLoopAsync(stop.Token), CancellationToken.None));
        }

        var sendLoops = new List<Task>();
        foreach (Publisher publisher in topology.Publishers)
        {
            loops.Add(Task.Run(() => publisher.RunReceiveLoopAsync(stop.Token), CancellationToken.None));
            sendLoops.Add(Task.Run(() => publisher.RunSendLoopAsync(stop.Token), CancellationToken.None));
        }

        using RatePacer? pacer = options.Rate > 0 ? new RatePacer(topology.Publishers, options.Rate) : null;
        pacer?.Start();

        var progress = new ProgressLine(topology, broker);
        long started = Stopwatch.GetTimestamp();
        TimeSpan windowOpens = TimeSpan.FromSeconds(options.WarmupSeconds);
        TimeSpan windowCloses = windowOpens + TimeSpan.FromSeconds(options.DurationSeconds);
        Snapshot? first = null;
        Snapshot? last = null;
        using (var timer = new PeriodicTimer(s_tick))
        {
            while (last is null && await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
                if (first is null && elapsed >= windowOpens)
                {
                    first = Snapshot.Take(topology, broker);
                    window.Open(first.Value.Timestamp);
                }
                else if (first is not null && elapsed >= windowCloses)
                {
                    last = Snapshot.Take(topology, broker);
                    window.Close(last.Value.Timestamp);
                }

                progress.MaybeWrite(elapsed, first is null ? "warm-up" : "measure");
                if (SendLoopFailure(sendLoops) is AggregateException failure)
                {
                    result.Problems.Add($"publisher failed: {failure.GetBaseException().Message}");
                    last ??= Snapshot.Take(topology, broker);
                    first ??= last;
                }
            }
        }

        pacer?.Dispose();
        foreach (Publisher publisher in topology.Publishers)
        {
            publisher.Stop();
        }

        if (!await DrainAsync(topology, options, progress, started).ConfigureAwait(false))
        {
            result.Problems.Add($"deliveries still arriving {s_drainLimit.TotalSeconds:F0} s after the publishers stopped: 'lost' includes messages still queued");
        }
        progress.Finish();
        Summarize(result, topology, first!.Value, last!.Value);
        if (options.LatencyLogPath is not null)
        {
            using var log = new StreamWriter(options.LatencyLogPath);
            log.WriteLine("ms,latency_us");
            foreach (Subscriber subscriber in topology.Subscribers)
            {
                subscriber.WriteLog(log);
            }
        }

        await stop.CancelAsync().ConfigureAwait(false);
        topology.Dispose();
        try
        {
            await Task.WhenAll(loops.Concat(sendLoops)).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }

        return result;
    }

    private static AggregateException? SendLoopFailure(List<Task> sendLoops)
    {
        foreach (Task loop in sendLoops)
        {
            if (loop.IsFaulted)
            {
                return loop.Exception;
            }
        }

        return null;
    }

    private static async Task<bool> DrainAsync(Topology topology, LoadOptions options, ProgressLine progress, long started)
    {
        long drainStart = Stopwatch.GetTimestamp();
        long lastReceived = -1;
        long lastChange = drainStart;
        TimeSpan quietPeriod = options.QoS == QualityOfService.AtMostOnce ? s_quietPeriod : s_acknowledgedQuietPeriod;
        while (Stopwatch.GetElapsedTime(drainStart) < s_drainLimit)
        {
            await Task.Delay(s_tick).ConfigureAwait(false);
            bool acksDone = true;
            long expected = 0;
            foreach (Publisher publisher in topology.Publishers)
            {
                acksDone &= options.QoS == QualityOfService.AtMostOnce || publisher.Inflight == 0 || publisher.Closed;
            }

            foreach ((Publisher publisher, _) in topology.Streams)
            {
                expected += publisher.Sent;
            }

            long received = 0;
            foreach (Subscriber subscriber in topology.Subscribers)
            {
                received += subscriber.Received;
            }

            if (received != lastReceived)
            {
                lastReceived = received;
                lastChange = Stopwatch.GetTimestamp();
            }

            progress.MaybeWrite(Stopwatch.GetElapsedTime(started), "drain");
            if (acksDone && (received >= expected || Stopwatch.GetElapsedTime(lastChange) >= quietPeriod))
            {
                return true;
            }
        }

        return false;
    }

    private static void Summarize(LoadResult result, Topology topology, Snapshot first, Snapshot last)
    {
        double seconds = Stopwatch.GetElapsedTime(first.Timestamp, last.Timestamp).TotalSeconds;
        result.WindowSeconds = seconds;
        result.PublishedPerSecond = (last.Published - first.Published) / seconds;
        result.DeliveredPerSecond = (last.Delivered - first.Delivered) / seconds;
        result.ToolCpuPercent = 100 * (last.ToolCpu - first.ToolCpu).TotalSeconds / seconds;
        if (first.Broker is ProcessSample b0 && last.Broker is ProcessSample b1)
        {
            result.BrokerCpuPercent = 100 * (b1.CpuTime - b0.CpuTime).TotalSeconds / seconds;
            result.BrokerRssBytes = b1.RssBytes;
        }

        bool acknowledged = result.Options.QoS != QualityOfService.AtMostOnce;
        long ackedLost = 0;
        foreach ((Publisher publisher, SequenceBitmap received) in topology.Streams)
        {
            long sent = publisher.Sent;
            long distinct = received.CountSet(sent);
            result.Expected += sent;
            result.Lost += sent - distinct;
            if (acknowledged)
            {
                ackedLost += publisher.Acked.CountSetNotIn(received, sent);
            }
        }

        if (acknowledged)
        {
            result.AcknowledgedLost = ackedLost;
            foreach (Publisher publisher in topology.Publishers)
            {
                result.Acknowledged += publisher.Acknowledged;
                result.Rejected += publisher.Rejected;
            }
        }

        var latency = new LatencyHistogram();
        foreach (Subscriber subscriber in topology.Subscribers)
        {
            result.Delivered += subscriber.Received;
            result.Duplicates += subscriber.Duplicates;
            result.WrongSize += subscriber.WrongSize;
            result.Foreign += subscriber.Foreign;
            result.Gaps += subscriber.Gaps;
            latency.Add(subscriber.Latency);
            if (subscriber.Closed)
            {
                result.Problems.Add("a subscriber's connection was closed by the broker");
            }
        }

        foreach (Publisher publisher in topology.Publishers)
        {
            if (publisher.Closed)
            {
                result.Problems.Add($"publisher {publisher.Id}'s connection was closed by the broker");
            }
        }

        result.LatencySamples = latency.Count;
        result.LatencyP50Microseconds = latency.ValueAt(0.50) / 1000;
        result.LatencyP99Microseconds = latency.ValueAt(0.99) / 1000;
        result.LatencyP999Microseconds = latency.ValueAt(0.999) / 1000;
        result.LatencyMaxMicroseconds = latency.ValueAt(1.0) / 1000;
    }
}

/// <summary>Counters at one instant, for rates over the window.</summary>
internal readonly record struct Snapshot(long Timestamp, long Published, long Delivered, TimeSpan ToolCpu, ProcessSample? Broker)
{
    public static Snapshot Take(Topology topology, ProcessSampler? broker)
    {
        long published = 0;
        foreach (Publisher publisher in topology.Publishers)
        {
            published += publisher.Sent;
        }

        long delivered = 0;
        foreach (Subscriber subscriber in topology.Subscribers)
        {
            delivered += subscriber.Received;
        }

        return new Snapshot(Stopwatch.GetTimestamp(), published, delivered, ProcessSampler.OwnCpuTime, broker?.TrySample());
    }
}
