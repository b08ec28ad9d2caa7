using System.Text.Json;
using Broker.Core.Security;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// Alarms (<see cref="AlarmManager"/>). An alarm is <c>{"node","name","message","details":{…},"activate_at",
/// "deactivate_at","duration","activated"}</c> as EMQX 4.4 formats it: times are unix microseconds, <c>deactivate_at</c>
/// is <c>"infinity"</c> while active, <c>duration</c> milliseconds. v4: <c>/alarms</c> (per node), <c>/alarms/activated</c>,
/// <c>/alarms/deactivated</c>, <c>DELETE /alarms/deactivated</c>; v3: <c>/alarms</c> as <c>[{"alarms":[…],"node"}]</c> and
/// <c>/alarms/{node}</c> as a bare list, active alarms only.
/// </summary>
internal static class AlarmsRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/alarms", "list_all_alarms", "List all alarms", call => NodeAlarmsV4(call, call.Context.Broker.Alarms.ListAll()))
            .Get("/alarms/activated", "list_activated_alarms", "List activated alarms", call => NodeAlarmsV4(call, call.Context.Broker.Alarms.ListActivated()))
            .Get("/alarms/deactivated", "list_deactivated_alarms", "List deactivated alarms", call => NodeAlarmsV4(call, call.Context.Broker.Alarms.ListDeactivated()))
            .Delete("/alarms/deactivated", "clear_deactivated_alarms", "Clear deactivated alarms", ClearDeactivated);
    }

    public static void MapV3(RouteTable routes)
    {
        routes
            .Get("/alarms", "list_all_alarms", "List all alarms", ListV3)
            .Get("/alarms/{node}", "list_node_alarms", "List the alarms of a node", ListNodeV3);
    }

    private static void WriteAlarm(Utf8JsonWriter writer, (Alarm Alarm, string Node, DateTimeOffset Now) state)
    {
        Alarm alarm = state.Alarm;
        writer.WriteStartObject();
        writer.WriteString("node", state.Node);
        writer.WriteString("name", alarm.Name);
        writer.WriteString("message", alarm.Message);
        writer.WriteStartObject("details");
        foreach (KeyValuePair<string, string> detail in alarm.Details)
        {
            writer.WriteString(detail.Key, detail.Value);
        }

        writer.WriteEndObject();
        writer.WriteNumber("activate_at", alarm.ActivatedAt.ToUnixTimeMilliseconds() * 1000);
        if (alarm.DeactivatedAt is { } deactivatedAt)
        {
            writer.WriteNumber("deactivate_at", deactivatedAt.ToUnixTimeMilliseconds() * 1000);
        }
        else
        {
            writer.WriteString("deactivate_at", "infinity");
        }

        writer.WriteNumber("duration", (long)((alarm.DeactivatedAt ?? state.Now) - alarm.ActivatedAt).TotalMilliseconds);
        writer.WriteBoolean("activated", alarm.IsActive);
        writer.WriteEndObject();
    }

    private static void WriteAlarms(Utf8JsonWriter writer, (IReadOnlyList<Alarm> Alarms, string Node, DateTimeOffset Now) state)
    {
        writer.WriteStartArray();
        foreach (Alarm alarm in state.Alarms)
        {
            WriteAlarm(writer, (alarm, state.Node, state.Now));
        }

        writer.WriteEndArray();
    }

    private static void WriteNodeAlarms(Utf8JsonWriter writer, (IReadOnlyList<Alarm> Alarms, string Node, DateTimeOffset Now) state)
    {
        writer.WriteStartArray();
        writer.WriteStartObject();
        writer.WriteString("node", state.Node);
        writer.WritePropertyName("alarms");
        WriteAlarms(writer, state);
        writer.WriteEndObject();
        writer.WriteEndArray();
    }

    private static ApiResponse NodeAlarmsV4(ApiCall call, IReadOnlyList<Alarm> alarms)
        => SecurityJson.V4Data((alarms, call.Context.NodeName, call.Context.TimeProvider.GetUtcNow()), WriteNodeAlarms);

    private static ApiResponse ClearDeactivated(ApiCall call)
    {
        call.Context.Broker.Alarms.ClearDeactivated();
        return V4.Ok();
    }

    private static ApiResponse ListV3(ApiCall call)
        => SecurityJson.Raw((call.Context.Broker.Alarms.ListActivated(), call.Context.NodeName, call.Context.TimeProvider.GetUtcNow()), WriteNodeAlarms);

    private static ApiResponse ListNodeV3(ApiCall call)
        => SecurityJson.IsOtherNode(call, call.Route("node"))
            ? ApiResponse.NotFound()
            : SecurityJson.Raw((call.Context.Broker.Alarms.ListActivated(), call.Context.NodeName, call.Context.TimeProvider.GetUtcNow()), WriteAlarms);
}
