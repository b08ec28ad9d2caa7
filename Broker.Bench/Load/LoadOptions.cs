using System.Globalization;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>The scenarios the load tool runs; each sets its own connection topology.</summary>
internal enum Scenario
{
    FanIn,
    Pairs,
    FanOut,
    Idle,
    Latency,
}

/// <summary>
/// Command-line options of <c>load</c>. Defaults follow the reference set-up: 64-byte payloads, 2 s warm-up,
/// 10 s measured, a window of 64 in-flight QoS 1/2 messages per publisher.
/// </summary>
internal sealed class LoadOptions
{
    public const string Usage = """
        usage: load <fan-in|pairs|fan-out|idle|latency> [options]
          --host H               broker address (127.0.0.1)
          --port P               broker port (1883)
          --protocol 3.1.1|5     MQTT version (3.1.1)
          --qos 0|1|2            QoS of publishes and subscriptions (0)
          --payload N            payload bytes, at least 20 (64)
          --warmup S             seconds before the measured window (2)
          --duration S           measured seconds (10)
          --window N             QoS 1/2 in-flight messages per publisher (64)
          --publishers N         publishers (fan-in 8, pairs 50, fan-out 1, latency 1)
          --subscribers N        subscribers (fan-out 100)
          --connections N        idle: connections to open (10000)
          --connector epoll|socket  idle: open them with raw Linux calls and epoll (the default on Linux with an IPv4
                                 broker: the tool's cost per connect is a third of socket's), or System.Net.Sockets
          --idle-subscribers N   pairs: extra idle connections subscribed to unrelated topics (0)
          --clean-session true|false  subscribers' Clean Session (true); false: persistent sessions (v5: expiry 300 s)
          --share                fan-out: subscribers join $share/g/... instead of plain subscriptions
          --rate N               total msg/s for all publishers; 0 = as fast as the broker takes them (latency: 1000)
          --broker-pid PID       sample the broker's CPU% and RSS from /proc
          --json FILE            write the result as JSON
          --latency-log FILE     write every latency sample of the window as CSV (ms since the window opened,
                                 latency in µs; up to 4M samples), to see when the tail happened
          --label NAME           name of the broker in the report and JSON
        """;

    public Scenario Scenario { get; private set; }

    public string ScenarioName { get; private set; } = "";

    public string Host { get; private set; } = "127.0.0.1";

    public int Port { get; private set; } = 1883;

    public ProtocolVersion Protocol { get; private set; } = ProtocolVersion.V311;

    public QualityOfService QoS { get; private set; } = QualityOfService.AtMostOnce;

    public int PayloadSize { get; private set; } = 64;

    public double WarmupSeconds { get; private set; } = 2;

    public double DurationSeconds { get; private set; } = 10;

    public int Window { get; private set; } = 64;

    public int Publishers { get; private set; }

    public int Subscribers { get; private set; }

    public int Connections { get; private set; } = 10_000;

    public int IdleSubscribers { get; private set; }

    /// <summary>Idle: open connections through <see cref="EpollConnector"/> where it is supported (true, the default).</summary>
    public bool EpollConnect { get; private set; } = true;

    public bool Share { get; private set; }

    /// <summary>Subscribers connect with Clean Session 1 (the default) or as persistent sessions.</summary>
    public bool CleanSession { get; private set; } = true;

    public double Rate { get; private set; }

    public int BrokerPid { get; private set; }

    public string? JsonPath { get; private set; }

    public string? LatencyLogPath { get; private set; }

    public string Label { get; private set; } = "broker";

    /// <summary>Parses the arguments after <c>load</c>; throws <see cref="FormatException"/> naming the bad flag.</summary>
    public static LoadOptions Parse(ReadOnlySpan<string> args)
    {
        if (args.Length == 0)
        {
            throw new FormatException("missing scenario");
        }

        var options = new LoadOptions { ScenarioName = args[0] };
        options.Scenario = args[0] switch
        {
            "fan-in" => Scenario.FanIn,
            "pairs" => Scenario.Pairs,
            "fan-out" => Scenario.FanOut,
            "idle" => Scenario.Idle,
            "latency" => Scenario.Latency,
            _ => throw new FormatException($"unknown scenario '{args[0]}'"),
        };

        for (int i = 1; i < args.Length; i++)
        {
            string name = args[i];
            if (name == "--share")
            {
                options.Share = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new FormatException($"{name}: missing value");
            }

            string value = args[++i];
            switch (name)
            {
                case "--host": options.Host = value; break;
                case "--port": options.Port = ParseInt(name, value, 1, 65535); break;
                case "--protocol":
                    options.Protocol = value switch
                    {
                        "3.1.1" or "4" => ProtocolVersion.V311,
                        "5" or "5.0" => ProtocolVersion.V500,
                        _ => throw new FormatException($"{name}: expected 3.1.1 or 5"),
                    };
                    break;
                case "--qos": options.QoS = (QualityOfService)ParseInt(name, value, 0, 2); break;
                case "--payload": options.PayloadSize = ParseInt(name, value, PayloadFormat.HeaderSize, 1 << 20); break;
                case "--warmup": options.WarmupSeconds = ParseDouble(name, value, 0); break;
                case "--duration": options.DurationSeconds = ParseDouble(name, value, 0.1); break;
                case "--window": options.Window = ParseInt(name, value, 1, 65535); break;
                case "--publishers": options.Publishers = ParseInt(name, value, 1, 100_000); break;
                case "--subscribers": options.Subscribers = ParseInt(name, value, 1, 100_000); break;
                case "--connections": options.Connections = ParseInt(name, value, 1, 1_000_000); break;
                case "--idle-subscribers": options.IdleSubscribers = ParseInt(name, value, 0, 1_000_000); break;
                case "--rate": options.Rate = ParseDouble(name, value, 0); break;
                case "--broker-pid": options.BrokerPid = ParseInt(name, value, 1, int.MaxValue); break;
                case "--json": options.JsonPath = value; break;
                case "--latency-log": options.LatencyLogPath = value; break;
                case "--label": options.Label = value; break;
                case "--connector": options.EpollConnect = value switch
                {
                    "epoll" => true,
                    "socket" => false,
                    _ => throw new FormatException($"{name}: epoll or socket, not {value}"),
                };
                    break;
                case "--clean-session": options.CleanSession = value switch
                {
                    "true" => true,
                    "false" => false,
                    _ => throw new FormatException($"{name}: true or false, not {value}"),
                };
                    break;
                default: throw new FormatException($"unknown option '{name}'");
            }
        }

        options.ApplyScenarioDefaults();
        return options;
    }

    private void ApplyScenarioDefaults()
    {
        switch (Scenario)
        {
            case Scenario.FanIn:
                Publishers = Publishers == 0 ? 8 : Publishers;
                Subscribers = 1;
                break;
            case Scenario.Pairs:
                Publishers = Publishers == 0 ? 50 : Publishers;
                Subscribers = Publishers;
                break;
            case Scenario.FanOut:
                Publishers = Publishers == 0 ? 1 : Publishers;
                Subscribers = Subscribers == 0 ? 100 : Subscribers;
                break;
            case Scenario.Latency:
                Publishers = 1;
                Subscribers = 1;
                Rate = Rate == 0 ? 1000 : Rate;
                break;
            case Scenario.Idle:
                Publishers = 0;
                Subscribers = 0;
                break;
        }
    }

    private static int ParseInt(string name, string value, int min, int max)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) || result < min || result > max)
        {
            throw new FormatException($"{name}: expected an integer in [{min}, {max}], got '{value}'");
        }

        return result;
    }

    private static double ParseDouble(string name, string value, double min)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double result) || result < min)
        {
            throw new FormatException($"{name}: expected a number >= {min}, got '{value}'");
        }

        return result;
    }
}
