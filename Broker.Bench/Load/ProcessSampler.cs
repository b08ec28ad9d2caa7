using System.Globalization;

namespace Broker.Bench.Load;

/// <summary>One reading of CPU time and resident memory.</summary>
internal readonly record struct ProcessSample(TimeSpan CpuTime, long RssBytes);

/// <summary>
/// Reads a process's CPU time (utime + stime, fields 14 and 15 of <c>/proc/PID/stat</c>) and resident set size
/// (<c>VmRSS</c> in <c>/proc/PID/status</c>). For this process it uses <see cref="Environment.CpuUsage"/>, which is
/// <c>Process.TotalProcessorTime</c> without a <c>Process</c> object per reading.
/// </summary>
internal sealed class ProcessSampler(int pid)
{
    private const double ClockTicksPerSecond = 100;   // USER_HZ: 100 on every Linux architecture .NET runs on

    public int Pid { get; } = pid;

    public static TimeSpan OwnCpuTime => Environment.CpuUsage.TotalTime;

    /// <summary>Null when the process is gone or /proc is not readable (not Linux).</summary>
    public ProcessSample? TrySample()
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{Pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            long rssKb = 0;
            foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rssKb = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                    break;
                }
            }

            return new ProcessSample(TimeSpan.FromSeconds(ticks / ClockTicksPerSecond), rssKb * 1024);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
