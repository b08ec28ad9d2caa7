using System.Diagnostics;
using System.Globalization;

namespace Broker.Bench.Load;

/// <summary>Once a second, a one-line summary of the last second on stderr, rewritten in place with <c>\r</c>.</summary>
internal sealed class ProgressLine(Topology topology, ProcessSampler? broker)
{
    private Snapshot _previous = Snapshot.Take(topology, broker);
    private bool _written;

    public void MaybeWrite(TimeSpan elapsed, string phase)
    {
        if (Stopwatch.GetElapsedTime(_previous.Timestamp) < TimeSpan.FromSeconds(1))
        {
            return;
        }

        Snapshot now = Snapshot.Take(topology, broker);
        double seconds = Stopwatch.GetElapsedTime(_previous.Timestamp, now.Timestamp).TotalSeconds;
        long duplicates = 0;
        foreach (Subscriber subscriber in topology.Subscribers)
        {
            duplicates += subscriber.Duplicates;
        }

        string brokerPart = "";
        if (_previous.Broker is ProcessSample b0 && now.Broker is ProcessSample b1)
        {
            brokerPart = string.Create(CultureInfo.InvariantCulture,
                $"  broker {100 * (b1.CpuTime - b0.CpuTime).TotalSeconds / seconds,3:F0}% {b1.RssBytes / 1048576.0:F0} MB");
        }

        string line = string.Create(CultureInfo.InvariantCulture,
            $"\r{elapsed.TotalSeconds,5:F1}s {phase,-7}  pub {(now.Published - _previous.Published) / seconds,11:N0}/s  del {(now.Delivered - _previous.Delivered) / seconds,11:N0}/s  dup {duplicates:N0}{brokerPart}  tool {100 * (now.ToolCpu - _previous.ToolCpu).TotalSeconds / seconds,3:F0}%   ");
        Console.Error.Write(line);
        _written = true;
        _previous = now;
    }

    public void Finish()
    {
        if (_written)
        {
            Console.Error.WriteLine();
        }
    }
}
