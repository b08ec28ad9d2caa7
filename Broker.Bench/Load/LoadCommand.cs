using System.Globalization;

namespace Broker.Bench.Load;

/// <summary>
/// <c>Broker.Bench load &lt;scenario&gt; [options]</c>: an end-to-end load generator for any MQTT broker. Exit codes:
/// 0 when every delivery checked out, 1 when messages were lost, duplicated at QoS 0/2 or malformed, 2 for bad usage,
/// 3 when the scenario could not be set up (broker unreachable, CONNECT or SUBSCRIBE refused).
/// </summary>
internal static class LoadCommand
{
    public static async Task<int> RunAsync(ReadOnlyMemory<string> args)
    {
        ConfigureRuntime();
        LoadOptions options;
        try
        {
            options = LoadOptions.Parse(args.Span);
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync($"load: {ex.Message}\n{LoadOptions.Usage}").ConfigureAwait(false);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        ProcessSampler? broker = options.BrokerPid > 0 ? new ProcessSampler(options.BrokerPid) : null;
        if (broker is not null && broker.TrySample() is null)
        {
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"load: cannot read /proc/{options.BrokerPid}: broker CPU and RSS will be n/a")).ConfigureAwait(false);
        }

        LoadResult result;
        try
        {
            result = options.Scenario == Scenario.Idle
                ? await IdleScenario.RunAsync(options, broker, cancel.Token).ConfigureAwait(false)
                : await LoadRun.RunAsync(options, broker, cancel.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or InvalidOperationException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"\nload: {options.ScenarioName} against {options.Host}:{options.Port} failed: {ex.Message}").ConfigureAwait(false);
            return 3;
        }

        Console.Out.Write(LoadReport.FormatTable(result));
        if (options.JsonPath is not null)
        {
            LoadReport.WriteJson(result, options.JsonPath);
        }

        bool duplicatesAreErrors = options.QoS != Broker.Core.Protocol.QualityOfService.AtLeastOnce;
        bool clean = result.Lost == 0 && (result.AcknowledgedLost ?? 0) == 0 && result.WrongSize == 0 && result.Foreign == 0
            && (!duplicatesAreErrors || result.Duplicates == 0) && result.Problems.Count == 0;
        return clean ? 0 : 1;
    }

    /// <summary>
    /// Before the first socket or pool work item: run socket continuations on the epoll thread (every loop here is
    /// non-blocking), and stop idle pool workers spinning on sched_yield. Measured on a 2-core VM pinned to one core,
    /// fan-in against mosquitto: the spin alone was about a third of the tool's CPU, the thread hop most of the rest.
    /// Both settings are read once, at first use, so setting them here is enough.
    /// </summary>
    private static void ConfigureRuntime()
    {
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", 0);
    }
}
