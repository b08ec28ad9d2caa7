using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Broker.Bench.Load;

/// <summary>
/// Opens <c>--connections</c> MQTT connections (CONNECT, CONNACK, keep-alive 0) and holds them: reports the connect
/// rate and how much resident memory the broker holds for them. All connections go to 127.0.0.1 from ephemeral
/// ports (28k by default on Linux), and close with RST so no TIME_WAIT is left for the next round. On Linux the
/// connections are opened by <see cref="EpollConnector"/> (<c>--connector socket</c> for the Socket path), so the
/// tool's own CPU does not cap the rate it measures.
/// </summary>
internal static class IdleScenario
{
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(2);

    public static async Task<LoadResult> RunAsync(LoadOptions options, ProcessSampler? broker, CancellationToken cancellationToken)
    {
        var result = new LoadResult { Options = options };
        EndPoint endPoint = Topology.ResolveBroker(options);
        ProcessSample? before = broker?.TrySample();
        result.BrokerRssBeforeBytes = before?.RssBytes;

        TimeSpan cpuStart = ProcessSampler.OwnCpuTime;
        long started = Stopwatch.GetTimestamp();
        string prefix = string.Create(CultureInfo.InvariantCulture, $"load{Environment.ProcessId}-idle");
        using var progress = new Timer(_ => Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{Stopwatch.GetElapsedTime(started).TotalSeconds,5:F1}s connecting...   ")), null, 1000, 1000);
        var failures = new ConnectFailures();
        MqttLoadConnection?[] connections = [];
        EpollConnections? held = null;
        if (options.EpollConnect && EpollConnector.IsSupported(endPoint))
        {
            var template = new ConnectTemplate(prefix, options.Connections, options.Protocol, cleanStart: true);
            held = await Task.Factory.StartNew(
                () => EpollConnector.ConnectAll((IPEndPoint)endPoint, template, options.Connections, Topology.ConnectParallelism, failures, cancellationToken),
                cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        else
        {
            connections = await Topology.ConnectManyAsync(endPoint, prefix, options.Connections, options.Protocol, 256, 0, null, failures, cancellationToken, noDelay: false).ConfigureAwait(false);
        }

        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        ProcessSample? connected = broker?.TrySample();
        await progress.DisposeAsync().ConfigureAwait(false);
        result.WindowSeconds = seconds;
        result.ToolCpuPercent = 100 * (ProcessSampler.OwnCpuTime - cpuStart).TotalSeconds / seconds;
        result.Connections = options.Connections - failures.Count;
        result.ConnectsPerSecond = result.Connections / seconds;
        if (failures.Count > 0)
        {
            result.Problems.Add(string.Create(CultureInfo.InvariantCulture, $"{failures.Count:N0} of {options.Connections:N0} connections failed; first: {failures.First}"));
        }

        try
        {
            // Let the broker finish whatever it does after CONNACK (session registration, GC) before reading RSS.
            await Task.Delay(s_settle, cancellationToken).ConfigureAwait(false);
            result.BrokerRssBytes = broker?.TrySample()?.RssBytes;
            if (connected is ProcessSample b1 && before is ProcessSample b0)
            {
                result.BrokerCpuPercent = 100 * (b1.CpuTime - b0.CpuTime).TotalSeconds / seconds;
            }
        }
        finally
        {
            foreach (MqttLoadConnection? connection in connections)
            {
                connection?.Abort();
            }

            held?.Abort();

            Console.Error.WriteLine();
        }

        return result;
    }
}
