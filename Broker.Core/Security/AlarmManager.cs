using Broker.Core.Configuration;

namespace Broker.Core.Security;

/// <summary>
/// One alarm (EMQX 4.4's <c>emqx_alarm</c> record): raised with a name, a message and details, and later cleared.
/// </summary>
/// <param name="Name">For example <c>too_many_connections</c>.</param>
/// <param name="Message">Human-readable text.</param>
/// <param name="Details">Measured values, for example <c>high_watermark</c> and <c>usage</c>.</param>
/// <param name="ActivatedAt">When it was raised.</param>
/// <param name="DeactivatedAt">When it was cleared; null while active.</param>
public sealed record Alarm(string Name, string Message, IReadOnlyDictionary<string, string> Details, DateTimeOffset ActivatedAt, DateTimeOffset? DeactivatedAt)
{
    /// <summary>Whether it is still raised.</summary>
    public bool IsActive => DeactivatedAt is null;
}

/// <summary>
/// Raised and cleared alarms (EMQX's <c>/alarms</c>, <c>/alarms/activated</c>, <c>/alarms/deactivated</c>). The broker
/// raises <c>too_many_connections</c> (connections above <see cref="BrokerOptions.ConnectionsHighWatermark"/> of
/// <see cref="BrokerOptions.MaximumConnections"/>, cleared below the low watermark) and <c>high_process_memory_usage</c>
/// itself; embedding code may raise its own. Deactivated alarms are kept for <c>alarm.validity_period</c>, at most
/// <c>alarm.size_limit</c> of them. Raising and clearing also publish to <c>$SYS/brokers/{node}/alarms/activate|deactivate</c>.
/// </summary>
public sealed class AlarmManager
{
    /// <summary>Name of the connection count alarm.</summary>
    public const string TooManyConnections = "too_many_connections";

    /// <summary>Name of the process memory alarm.</summary>
    public const string HighProcessMemoryUsage = "high_process_memory_usage";

    private readonly Lock _sync = new();
    private readonly Dictionary<string, Alarm> _active = new(StringComparer.Ordinal);
    private readonly LinkedList<Alarm> _deactivated = new();
    private readonly MqttBroker _broker;

    internal AlarmManager(MqttBroker broker)
    {
        _broker = broker;
    }

    /// <summary>Raises an alarm; false (nothing changed) if one with this name is active.</summary>
    public bool Activate(string name, string message, IReadOnlyDictionary<string, string>? details = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(message);
        Alarm alarm;
        lock (_sync)
        {
            if (_active.ContainsKey(name))
            {
                return false;
            }

            alarm = new Alarm(name, message, details ?? new Dictionary<string, string>(), _broker.TimeProvider.GetUtcNow(), null);
            _active.Add(name, alarm);
        }

        _broker.PublishAlarmEvent(alarm, activated: true);
        return true;
    }

    /// <summary>Clears an active alarm into the history; false if none with this name is active.</summary>
    public bool Deactivate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Alarm cleared;
        lock (_sync)
        {
            if (!_active.Remove(name, out Alarm? alarm))
            {
                return false;
            }

            cleared = alarm with { DeactivatedAt = _broker.TimeProvider.GetUtcNow() };
            _deactivated.AddFirst(cleared);
            while (_deactivated.Count > _broker.Options.AlarmSizeLimit)
            {
                _deactivated.RemoveLast();
            }
        }

        _broker.PublishAlarmEvent(cleared, activated: false);
        return true;
    }

    /// <summary>Active alarms, oldest first.</summary>
    public IReadOnlyList<Alarm> ListActivated()
    {
        lock (_sync)
        {
            var list = new List<Alarm>(_active.Values);
            list.Sort(static (a, b) => a.ActivatedAt.CompareTo(b.ActivatedAt));
            return list;
        }
    }

    /// <summary>Cleared alarms still in the history, newest first.</summary>
    public IReadOnlyList<Alarm> ListDeactivated()
    {
        lock (_sync)
        {
            return [.. _deactivated];
        }
    }

    /// <summary>Active alarms then cleared ones.</summary>
    public IReadOnlyList<Alarm> ListAll()
    {
        var list = new List<Alarm>(ListActivated());
        list.AddRange(ListDeactivated());
        return list;
    }

    /// <summary>Empties the history of cleared alarms (<c>DELETE /alarms/deactivated</c>).</summary>
    public void ClearDeactivated()
    {
        lock (_sync)
        {
            _deactivated.Clear();
        }
    }

    /// <summary>The periodic check of the broker's own alarm conditions, and the history's validity period.</summary>
    internal void Check(int connections)
    {
        BrokerOptions options = _broker.Options;
        int max = options.MaximumConnections;
        if (max > 0)
        {
            double usage = (double)connections / max;
            if (usage >= options.ConnectionsHighWatermark)
            {
                Activate(TooManyConnections, $"{connections} connections, {Percent(usage)} of max_conns {max}", new Dictionary<string, string>
                {
                    ["high_watermark"] = Percent(options.ConnectionsHighWatermark),
                    ["low_watermark"] = Percent(options.ConnectionsLowWatermark),
                    ["usage"] = Percent(usage),
                    ["connections"] = connections.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["max_conns"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            }
            else if (usage < options.ConnectionsLowWatermark)
            {
                Deactivate(TooManyConnections);
            }
        }
        else
        {
            Deactivate(TooManyConnections);
        }

        long used = Environment.WorkingSet;
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (total > 0)
        {
            double usage = (double)used / total;
            if (usage >= options.ProcessMemoryHighWatermark)
            {
                Activate(HighProcessMemoryUsage, $"Process memory usage is higher than {Percent(options.ProcessMemoryHighWatermark)}", new Dictionary<string, string>
                {
                    ["high_watermark"] = Percent(options.ProcessMemoryHighWatermark),
                    ["usage"] = Percent(usage),
                    ["used_bytes"] = used.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["total_bytes"] = total.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            }
            else
            {
                Deactivate(HighProcessMemoryUsage);
            }
        }

        DateTimeOffset oldest = _broker.TimeProvider.GetUtcNow() - options.AlarmValidityPeriod;
        lock (_sync)
        {
            while (_deactivated.Last is { } last && last.Value.DeactivatedAt < oldest)
            {
                _deactivated.RemoveLast();
            }
        }
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "%";
}
