using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>The final table (markdown, stdout) and the JSON the side-by-side runner reads.</summary>
internal static class LoadReport
{
    public static string FormatTable(LoadResult r)
    {
        LoadOptions o = r.Options;
        var b = new StringBuilder();
        string tool = Percent(r.ToolCpuPercent);
        b.Append(CultureInfo.InvariantCulture, $"\n### {o.ScenarioName} · {o.Label} · MQTT {(o.Protocol == ProtocolVersion.V500 ? "5.0" : "3.1.1")} · QoS {(int)o.QoS} · {o.PayloadSize} B");
        if (o.Scenario == Scenario.Idle)
        {
            b.Append(CultureInfo.InvariantCulture, $" · {o.Connections:N0} connections\n\n");
            b.Append("| figure | value | load tool CPU |\n| --- | --- | --- |\n");
            Row(b, "connect rate", $"{r.ConnectsPerSecond:N0} connections/s ({r.WindowSeconds:F2} s)", tool);
            Row(b, "broker CPU while connecting", Percent(r.BrokerCpuPercent), tool);
            Row(b, "broker RSS before", Megabytes(r.BrokerRssBeforeBytes), "");
            Row(b, "broker RSS held", Megabytes(r.BrokerRssBytes), "");
            if (r.BrokerRssBytes is long held && r.BrokerRssBeforeBytes is long before)
            {
                Row(b, "RSS per connection", $"{(held - before) / 1024.0 / r.Connections:F2} KB", "");
            }
        }
        else
        {
            b.Append(CultureInfo.InvariantCulture, $" · {o.Publishers} pub -> {o.Subscribers} sub{(o.Share ? " ($share)" : "")}{(o.IdleSubscribers > 0 ? $" + {o.IdleSubscribers:N0} idle" : "")}{(o.Rate > 0 ? $" · {o.Rate:N0} msg/s offered" : "")} · {r.WindowSeconds:F1} s after {o.WarmupSeconds:F0} s warm-up\n\n");
            b.Append("| figure | value | load tool CPU |\n| --- | --- | --- |\n");
            Row(b, "delivered msg/s", $"{r.DeliveredPerSecond:N0}", tool);
            Row(b, "published msg/s", $"{r.PublishedPerSecond:N0}", tool);
            Row(b, "lost (whole run)", $"{r.Lost:N0} of {r.Expected:N0} ({r.LossPercent:F3} %)", tool);
            if (r.AcknowledgedLost is long ackedLost)
            {
                Row(b, "acknowledged then lost", $"{ackedLost:N0} of {r.Acknowledged:N0} acknowledged{(r.Rejected > 0 ? $", {r.Rejected:N0} rejected" : "")}", tool);
            }

            Row(b, "duplicates", $"{r.Duplicates:N0}", tool);
            Row(b, "wrong size / foreign", $"{r.WrongSize:N0} / {r.Foreign:N0}", tool);
            Row(b, "latency p50 / p99 / p99.9", $"{Micro(r.LatencyP50Microseconds)} / {Micro(r.LatencyP99Microseconds)} / {Micro(r.LatencyP999Microseconds)} (max {Micro(r.LatencyMaxMicroseconds)}, {r.LatencySamples:N0} samples)", tool);
            Row(b, "broker CPU", Percent(r.BrokerCpuPercent), tool);
            Row(b, "broker RSS", Megabytes(r.BrokerRssBytes), tool);
        }

        foreach (string problem in r.Problems)
        {
            b.Append(CultureInfo.InvariantCulture, $"\nproblem: {problem}\n");
        }

        return b.ToString();
    }

    public static void WriteJson(LoadResult r, string path)
    {
        using FileStream file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        LoadOptions o = r.Options;
        json.WriteStartObject();
        json.WriteString("scenario", o.ScenarioName);
        json.WriteString("label", o.Label);
        json.WriteString("protocol", o.Protocol == ProtocolVersion.V500 ? "5" : "3.1.1");
        json.WriteNumber("qos", (int)o.QoS);
        json.WriteNumber("payload", o.PayloadSize);
        json.WriteNumber("publishers", o.Publishers);
        json.WriteNumber("subscribers", o.Subscribers);
        json.WriteNumber("idle_subscribers", o.IdleSubscribers);
        json.WriteBoolean("share", o.Share);
        json.WriteNumber("rate", o.Rate);
        json.WriteNumber("window_seconds", r.WindowSeconds);
        Number(json, "published_per_s", r.PublishedPerSecond);
        Number(json, "delivered_per_s", r.DeliveredPerSecond);
        json.WriteNumber("expected", r.Expected);
        json.WriteNumber("delivered", r.Delivered);
        json.WriteNumber("lost", r.Lost);
        json.WriteNumber("loss_percent", r.LossPercent);
        if (r.AcknowledgedLost is long ackedLost)
        {
            json.WriteNumber("acknowledged", r.Acknowledged);
            json.WriteNumber("acknowledged_lost", ackedLost);
            json.WriteNumber("rejected", r.Rejected);
        }
        else
        {
            json.WriteNull("acknowledged_lost");
        }

        json.WriteNumber("duplicates", r.Duplicates);
        json.WriteNumber("wrong_size", r.WrongSize);
        json.WriteNumber("foreign", r.Foreign);
        json.WriteNumber("gaps", r.Gaps);
        Number(json, "latency_p50_us", r.LatencyP50Microseconds);
        Number(json, "latency_p99_us", r.LatencyP99Microseconds);
        Number(json, "latency_p999_us", r.LatencyP999Microseconds);
        Number(json, "latency_max_us", r.LatencyMaxMicroseconds);
        Number(json, "tool_cpu_percent", r.ToolCpuPercent);
        Number(json, "broker_cpu_percent", r.BrokerCpuPercent);
        Number(json, "broker_rss_bytes", r.BrokerRssBytes);
        json.WriteNumber("connections", r.Connections);
        Number(json, "connects_per_s", r.ConnectsPerSecond);
        Number(json, "broker_rss_before_bytes", r.BrokerRssBeforeBytes);
        json.WriteStartArray("problems");
        foreach (string problem in r.Problems)
        {
            json.WriteStringValue(problem);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, Math.Round(value, 3));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void Number(Utf8JsonWriter json, string name, long? value)
    {
        if (value is long v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void Row(StringBuilder b, string figure, string value, string tool)
        => b.Append(CultureInfo.InvariantCulture, $"| {figure} | {value} | {tool} |\n");

    private static string Percent(double value) => double.IsFinite(value) ? string.Create(CultureInfo.InvariantCulture, $"{value:F0} %") : "n/a";

    private static string Megabytes(long? bytes) => bytes is long b ? string.Create(CultureInfo.InvariantCulture, $"{b / 1048576.0:F1} MB") : "n/a";

    private static string Micro(double microseconds) => !double.IsFinite(microseconds) ? "n/a"
        : microseconds >= 1000 ? string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:F2} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{microseconds:F0} µs");
}
