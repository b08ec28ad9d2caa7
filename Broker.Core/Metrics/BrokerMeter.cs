using System.Diagnostics.Metrics;

namespace Broker.Core.Metrics;

/// <summary>
/// Publishes <see cref="BrokerCounters"/> and <see cref="BrokerStats"/> through <see cref="System.Diagnostics.Metrics"/>
/// (meter <c>Broker.Core</c>) as observable instruments, so OpenTelemetry, dotnet-counters and Prometheus exporters read
/// the same sums as the management API. Nothing is recorded on the packet path: values are read when a listener collects.
/// </summary>
/// <remarks>
/// Instrument names are the EMQX names prefixed with <c>broker.</c>: event counters are observable counters
/// (<c>broker.packets.publish.received</c>); the gauge counters and the <c>.count</c> stats are observable up-down
/// counters (<c>broker.messages.retained</c>, <c>broker.connections.count</c>); the <c>.max</c> stats are observable
/// gauges. Disposing the meter unpublishes every instrument.
/// </remarks>
public sealed class BrokerMeter : IDisposable
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "Broker.Core";

    /// <summary>The prefix of every instrument name.</summary>
    public const string InstrumentPrefix = "broker.";

    private readonly Meter _meter;

    public BrokerMeter(BrokerCounters counters, BrokerStats stats)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(stats);

        _meter = new Meter(MeterName, typeof(BrokerMeter).Assembly.GetName().Version?.ToString());
        for (int i = 0; i < CounterNames.Count; i++)
        {
            CounterId id = (CounterId)i;
            string name = InstrumentPrefix + CounterNames.GetName(id);
            string? unit = id is CounterId.BytesReceived or CounterId.BytesSent ? "By" : null;
            if (BrokerCounters.IsGauge(id))
            {
                _meter.CreateObservableUpDownCounter(name, () => counters.Get(id), unit);
            }
            else
            {
                _meter.CreateObservableCounter(name, () => counters.Get(id), unit);
            }
        }

        for (int i = 0; i < StatNames.Count; i++)
        {
            StatId id = (StatId)i;
            _meter.CreateObservableUpDownCounter(InstrumentPrefix + StatNames.GetCountName(id), () => stats.GetCount(id));
            _meter.CreateObservableGauge(InstrumentPrefix + StatNames.GetMaxName(id), () => stats.GetMax(id));
        }
    }

    /// <summary>The meter, for listeners that filter by instance.</summary>
    public Meter Meter => _meter;

    public void Dispose() => _meter.Dispose();
}
