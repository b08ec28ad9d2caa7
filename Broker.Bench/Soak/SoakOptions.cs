using System.Globalization;

namespace Broker.Bench.Soak;

/// <summary>Command-line options of <c>soak</c>.</summary>
internal sealed class SoakOptions
{
    public const string Usage = """
        usage: soak [options]
          --host H             broker address (127.0.0.1)
          --port P             broker MQTT port (1883)
          --duration S         seconds of load before the drain (180)
          --idle N             connections held open for the whole run (2000)
          --churners N         loops that connect, subscribe, publish and disconnect or drop, again and again (40)
          --slow N             slow consumers of a QoS 0 stream, each reading 4 KB per 200 ms (20)
          --slow-rate N        msg/s of 1 KB QoS 0 to the slow consumers' topic (500)
          --malformed N        loops sending garbage, bad packets and half-open connections (10)
          --pairs N            well-behaved publisher/subscriber pairs, QoS 1 and 2 alternately (20)
          --rate N             msg/s per pair (20)
          --sample S           seconds between report lines (10)
          --broker-pid PID     sample the broker's RSS and CPU from /proc
          --api URL            management API for the dropped counters (http://127.0.0.1:8081; "none" to skip)
          --api-auth ID:SECRET (admin:public)
        """;

    public string Host { get; private set; } = "127.0.0.1";

    public int Port { get; private set; } = 1883;

    public double DurationSeconds { get; private set; } = 180;

    public int Idle { get; private set; } = 2000;

    public int Churners { get; private set; } = 40;

    public int Slow { get; private set; } = 20;

    public int SlowRate { get; private set; } = 500;

    public int Malformed { get; private set; } = 10;

    public int Pairs { get; private set; } = 20;

    public int Rate { get; private set; } = 20;

    public double SampleSeconds { get; private set; } = 10;

    public int BrokerPid { get; private set; }

    public string? Api { get; private set; } = "http://127.0.0.1:8081";

    public string ApiAuth { get; private set; } = "admin:public";

    public static SoakOptions Parse(ReadOnlySpan<string> args)
    {
        var options = new SoakOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new FormatException($"{name} needs a value.");
            }

            string value = args[++i];
            switch (name)
            {
                case "--host": options.Host = value; break;
                case "--port": options.Port = Int(name, value, 1, 65535); break;
                case "--duration": options.DurationSeconds = Int(name, value, 1, 86_400); break;
                case "--idle": options.Idle = Int(name, value, 0, 1_000_000); break;
                case "--churners": options.Churners = Int(name, value, 0, 10_000); break;
                case "--slow": options.Slow = Int(name, value, 0, 10_000); break;
                case "--slow-rate": options.SlowRate = Int(name, value, 0, 1_000_000); break;
                case "--malformed": options.Malformed = Int(name, value, 0, 10_000); break;
                case "--pairs": options.Pairs = Int(name, value, 0, 10_000); break;
                case "--rate": options.Rate = Int(name, value, 1, 1_000_000); break;
                case "--sample": options.SampleSeconds = Int(name, value, 1, 3600); break;
                case "--broker-pid": options.BrokerPid = Int(name, value, 1, int.MaxValue); break;
                case "--api": options.Api = value == "none" ? null : value.TrimEnd('/'); break;
                case "--api-auth": options.ApiAuth = value; break;
                default: throw new FormatException($"unknown option {name}");
            }
        }

        return options;
    }

    private static int Int(string name, string value, int min, int max)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int result) && result >= min && result <= max
            ? result
            : throw new FormatException($"{name} takes an integer from {min} to {max}, not '{value}'.");
}
