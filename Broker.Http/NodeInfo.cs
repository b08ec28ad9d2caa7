using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Broker.Core;

namespace Broker.Http;

/// <summary>
/// Real figures of this process for <c>/nodes</c> and <c>/brokers</c>: memory, load averages
/// (<c>/proc/loadavg</c>), the open-file limit (<c>/proc/self/limits</c>), threads, uptime. Where EMQX reports an
/// Erlang VM figure the nearest .NET one is used: <c>process_used</c> is the process's thread count and
/// <c>process_available</c> the thread pool's maximum worker threads.
/// </summary>
public sealed class NodeInfo
{
    private readonly MqttBroker _broker;

    public NodeInfo(MqttBroker broker) => _broker = broker ?? throw new ArgumentNullException(nameof(broker));

    /// <summary>EMQX's <c>sysdescr</c>.</summary>
    public static string SystemDescription => "MQTT Broker for .NET";

    /// <summary>EMQX's <c>otp_release</c>: the runtime the broker runs on.</summary>
    public static string RuntimeRelease => RuntimeInformation.FrameworkDescription;

    public static string Version => MqttBroker.Version;

    /// <summary>Always <c>Running</c>: a node that answers is running.</summary>
    public static string Status => "Running";

    public TimeSpan Uptime => _broker.TimeProvider.GetUtcNow() - _broker.StartedAt;

    /// <summary>Bytes the process has from the OS (working set): EMQX's <c>memory_total</c>.</summary>
    public static long MemoryTotal => Environment.WorkingSet;

    /// <summary>Bytes of managed heap in use: EMQX's <c>memory_used</c>.</summary>
    public static long MemoryUsed => GC.GetTotalMemory(forceFullCollection: false);

    public static int ProcessUsed
    {
        get
        {
            using var process = Process.GetCurrentProcess();
            return process.Threads.Count;
        }
    }

    public static int ProcessAvailable
    {
        get
        {
            ThreadPool.GetMaxThreads(out int workers, out _);
            return workers;
        }
    }

    /// <summary>The soft limit on open files, or -1 where it cannot be read.</summary>
    public static long MaxFileDescriptors
    {
        get
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/self/limits"))
                {
                    if (line.StartsWith("Max open files", StringComparison.Ordinal))
                    {
                        string[] parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long soft) ? soft : -1;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return -1;
            }

            return -1;
        }
    }

    /// <summary>The 1, 5 and 15 minute load averages as EMQX prints them (<c>"2.31"</c>); <c>"0.00"</c> where unknown.</summary>
    public static (string Load1, string Load5, string Load15) LoadAverages
    {
        get
        {
            try
            {
                string[] parts = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 3)
                {
                    return (FormatLoad(parts[0]), FormatLoad(parts[1]), FormatLoad(parts[2]));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not Linux, or /proc is hidden: report zeros as EMQX does without os_mon.
            }

            return ("0.00", "0.00", "0.00");
        }
    }

    /// <summary>Connected MQTT clients.</summary>
    public int Connections => _broker.GetClients().Count;

    /// <summary>EMQX's uptime text: <c>4 hours, 21 minutes, 19 seconds</c>, leading zero units left out.</summary>
    public static string FormatUptime(TimeSpan uptime)
    {
        var text = new StringBuilder();
        Append(text, uptime.Days, "days");
        Append(text, uptime.Hours, "hours");
        Append(text, uptime.Minutes, "minutes");
        text.Append(text.Length > 0 ? ", " : string.Empty).Append(uptime.Seconds.ToString(CultureInfo.InvariantCulture)).Append(" seconds");
        return text.ToString();

        static void Append(StringBuilder text, int value, string unit)
        {
            if (value > 0 || text.Length > 0)
            {
                text.Append(text.Length > 0 ? ", " : string.Empty).Append(value.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(unit);
            }
        }
    }

    /// <summary>EMQX's memory text: <c>96.75M</c> (also K and G).</summary>
    public static string FormatBytes(long bytes)
    {
        const double K = 1024;
        return bytes switch
        {
            >= 1L << 30 => (bytes / (K * K * K)).ToString("0.00", CultureInfo.InvariantCulture) + "G",
            >= 1L << 20 => (bytes / (K * K)).ToString("0.00", CultureInfo.InvariantCulture) + "M",
            >= 1L << 10 => (bytes / K).ToString("0.00", CultureInfo.InvariantCulture) + "K",
            _ => bytes.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>EMQX's timestamp text, <c>YYYY-MM-DD HH:MM:SS</c> in local time.</summary>
    public static string FormatDateTime(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string FormatLoad(string value)
        => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double load)
            ? load.ToString("0.00", CultureInfo.InvariantCulture)
            : "0.00";
}
