using System.Globalization;
using System.Text;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// <c>GET /emqx_prometheus?type=prometheus</c>: every counter and gauge in the Prometheus text format (0.0.4), named
/// as EMQX's <c>emqx_prometheus</c> names them (<c>emqx_packets_publish_received</c>, <c>emqx_connections_count</c>),
/// served without credentials as EMQX serves it to scrapers. Other <c>type</c> values get EMQX's JSON form.
/// </summary>
internal static class PrometheusRoutes
{
    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Map(RouteTable routes)
        => routes.GetAnonymous("/emqx_prometheus", "stats", "Get emqx all stats info", Scrape);

    private static ApiResponse Scrape(ApiCall call)
    {
        Dictionary<string, long> metrics = ObservabilityRoutes.Metrics(call.Context, v3: false);
        Dictionary<string, long> stats = ObservabilityRoutes.Stats(call.Context, v3: false);
        if (call.Query.Get("type") is { } type && type != "prometheus")
        {
            var all = new Dictionary<string, long>(stats, StringComparer.Ordinal);
            foreach (KeyValuePair<string, long> pair in metrics)
            {
                all[pair.Key] = pair.Value;
            }

            return V4.Ok(all, Json.HttpJsonContext.Default.DictionaryStringInt64);
        }

        var text = new StringBuilder(16 * 1024);
        Append(text, stats, "gauge");
        Append(text, metrics, "counter");
        AppendLine(text, "emqx_vm_total_memory", "gauge", NodeInfo.MemoryTotal);
        AppendLine(text, "emqx_vm_used_memory", "gauge", NodeInfo.MemoryUsed);
        AppendLine(text, "emqx_vm_process_messages_in_queues", "gauge", 0);
        AppendLine(text, "emqx_uptime_seconds", "gauge", (long)call.Context.Node.Uptime.TotalSeconds);
        return new ApiResponse(200, ContentType, Encoding.UTF8.GetBytes(text.ToString()));
    }

    private static void Append(StringBuilder text, Dictionary<string, long> values, string type)
    {
        foreach (KeyValuePair<string, long> pair in values)
        {
            AppendLine(text, "emqx_" + pair.Key.Replace('.', '_'), type, pair.Value);
        }
    }

    private static void AppendLine(StringBuilder text, string name, string type, long value)
        => text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n')
            .Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
