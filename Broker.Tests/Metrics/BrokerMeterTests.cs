using System.Diagnostics.Metrics;
using Broker.Core.Metrics;

namespace Broker.Tests.Metrics;

[TestFixture]
public sealed class BrokerMeterTests
{
    [Test]
    public void Meter_IsNamedBrokerCore_WithOneInstrumentPerCounterAndTwoPerStat()
    {
        using var meter = new BrokerMeter(new BrokerCounters(), new BrokerStats());

        Dictionary<string, Instrument> instruments = Collect(meter, out _);

        Assert.That(meter.Meter.Name, Is.EqualTo("Broker.Core"));
        Assert.That(instruments, Has.Count.EqualTo(CounterNames.Count + (2 * StatNames.Count)));
        Assert.That(instruments["broker.packets.publish.received"], Is.InstanceOf<ObservableCounter<long>>());
        Assert.That(instruments["broker.messages.retained"], Is.InstanceOf<ObservableUpDownCounter<long>>());
        Assert.That(instruments["broker.connections.count"], Is.InstanceOf<ObservableUpDownCounter<long>>());
        Assert.That(instruments["broker.connections.max"], Is.InstanceOf<ObservableGauge<long>>());
        Assert.That(instruments["broker.bytes.sent"].Unit, Is.EqualTo("By"));
    }

    [Test]
    public void Collect_PublishesCurrentSums()
    {
        var counters = new BrokerCounters();
        var stats = new BrokerStats();
        using var meter = new BrokerMeter(counters, stats);

        counters.Increment(CounterId.PacketsPublishReceived);
        counters.Add(CounterId.BytesReceived, 805);
        counters.Set(CounterId.MessagesRetained, 3);
        stats.Increment(StatId.Connections);
        stats.Increment(StatId.Connections);
        stats.Decrement(StatId.Connections);

        Collect(meter, out Dictionary<string, long> values);

        Assert.That(values["broker.packets.publish.received"], Is.EqualTo(1));
        Assert.That(values["broker.bytes.received"], Is.EqualTo(805));
        Assert.That(values["broker.messages.retained"], Is.EqualTo(3));
        Assert.That(values["broker.packets.publish.sent"], Is.Zero);
        Assert.That(values["broker.connections.count"], Is.EqualTo(1));
        Assert.That(values["broker.connections.max"], Is.EqualTo(2));

        counters.Add(CounterId.PacketsPublishReceived, 9);
        Collect(meter, out values);
        Assert.That(values["broker.packets.publish.received"], Is.EqualTo(10));
    }

    [Test]
    public void Dispose_UnpublishesInstruments()
    {
        var meter = new BrokerMeter(new BrokerCounters(), new BrokerStats());
        meter.Dispose();

        Assert.That(Collect(meter, out _), Is.Empty);
    }

    // Listens to this BrokerMeter's Meter only: other tests may have meters of the same name alive.
    private static Dictionary<string, Instrument> Collect(BrokerMeter brokerMeter, out Dictionary<string, long> values)
    {
        var instruments = new Dictionary<string, Instrument>();
        var measured = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, brokerMeter.Meter))
            {
                instruments.Add(instrument.Name, instrument);
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measured[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();

        values = measured;
        return instruments;
    }
}
