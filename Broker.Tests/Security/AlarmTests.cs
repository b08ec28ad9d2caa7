using System.Text;
using System.Text.Json;
using Broker.Core.Security;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Security;

/// <summary>Alarms the broker raises and clears itself, their history and their $SYS events.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class AlarmTests
{
    [Test]
    public async Task TooManyConnections_RaisedAtHighWatermark_ClearedBelowLow()
    {
        await using var broker = new TestBroker(o =>
        {
            o.SysTopicsEnabled = false;
            o.MaximumConnections = 5;
            o.ProcessMemoryHighWatermark = 1;
            o.AlarmCheckInterval = TimeSpan.FromSeconds(1);
        });
        var clients = new List<PipeClient>();
        for (int i = 0; i < 4; i++)
        {
            clients.Add(await broker.ConnectAsync($"c{i}"));
        }

        broker.Advance(TimeSpan.FromSeconds(1));

        Alarm alarm = broker.Broker.Alarms.ListActivated().Single();
        Assert.That(alarm.Name, Is.EqualTo("too_many_connections"));
        Assert.That(alarm.IsActive, Is.True);
        Assert.That(alarm.ActivatedAt, Is.EqualTo(broker.Time.GetUtcNow()));
        Assert.That(alarm.Details["usage"], Is.EqualTo("80%"));
        Assert.That(alarm.Details["high_watermark"], Is.EqualTo("80%"));

        await clients[0].DisconnectAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Alarms.ListActivated(), Has.Count.EqualTo(1), "3 of 5 is not below the 60% low watermark");

        await clients[1].DisconnectAndWaitAsync();
        broker.Advance(TimeSpan.FromSeconds(1));

        Assert.That(broker.Broker.Alarms.ListActivated(), Is.Empty);
        Alarm cleared = broker.Broker.Alarms.ListDeactivated().Single();
        Assert.That(cleared.Name, Is.EqualTo("too_many_connections"));
        Assert.That(cleared.DeactivatedAt, Is.EqualTo(broker.Time.GetUtcNow()));
        Assert.That(cleared.IsActive, Is.False);
    }

    [Test]
    public async Task ProcessMemory_RaisedAboveWatermark_ClearedBelow()
    {
        await using var broker = new TestBroker(o =>
        {
            o.SysTopicsEnabled = false;
            o.ProcessMemoryHighWatermark = 0;
            o.AlarmCheckInterval = TimeSpan.FromSeconds(1);
        });

        broker.Advance(TimeSpan.FromSeconds(1));
        Assert.That(broker.Broker.Alarms.ListActivated().Select(a => a.Name), Is.EqualTo(new[] { "high_process_memory_usage" }));
        Assert.That(broker.Broker.Alarms.ListActivated()[0].Details.Keys, Is.SupersetOf(new[] { "usage", "high_watermark", "used_bytes", "total_bytes" }));

        broker.Broker.Options.ProcessMemoryHighWatermark = 1;
        broker.Advance(TimeSpan.FromSeconds(1));

        Assert.That(broker.Broker.Alarms.ListActivated(), Is.Empty);
        Assert.That(broker.Broker.Alarms.ListAll().Single().Name, Is.EqualTo("high_process_memory_usage"));
    }

    [Test]
    public async Task ActivateAndDeactivate_PublishedUnderSys()
    {
        await using var broker = new TestBroker();
        PipeClient watcher = await broker.ConnectAsync("w");
        await watcher.SubscribeAsync("$SYS/brokers/+/alarms/#");

        Assert.That(broker.Broker.Alarms.Activate("custom", "something", new Dictionary<string, string> { ["k"] = "v" }), Is.True);
        Assert.That(broker.Broker.Alarms.Activate("custom", "again"), Is.False, "already active");
        PublishModel activate = await watcher.ExpectPublishAsync($"$SYS/brokers/{broker.Broker.Options.NodeName}/alarms/activate");
        Assert.That(broker.Broker.Alarms.Deactivate("custom"), Is.True);
        Assert.That(broker.Broker.Alarms.Deactivate("custom"), Is.False);
        PublishModel deactivate = await watcher.ExpectPublishAsync($"$SYS/brokers/{broker.Broker.Options.NodeName}/alarms/deactivate");

        using JsonDocument a = JsonDocument.Parse(activate.Payload);
        Assert.That(a.RootElement.GetProperty("name").GetString(), Is.EqualTo("custom"));
        Assert.That(a.RootElement.GetProperty("message").GetString(), Is.EqualTo("something"));
        Assert.That(a.RootElement.GetProperty("details").GetProperty("k").GetString(), Is.EqualTo("v"));
        Assert.That(a.RootElement.GetProperty("activated").GetBoolean(), Is.True);
        using JsonDocument d = JsonDocument.Parse(deactivate.Payload);
        Assert.That(d.RootElement.GetProperty("activated").GetBoolean(), Is.False);
        Assert.That(d.RootElement.TryGetProperty("deactivate_at", out _), Is.True, Encoding.UTF8.GetString(deactivate.Payload));
    }

    [Test]
    public async Task History_BoundedBySizeLimit_AndValidityPeriod_AndClearable()
    {
        await using var broker = new TestBroker(o =>
        {
            o.AlarmSizeLimit = 2;
            o.AlarmValidityPeriod = TimeSpan.FromSeconds(10);
            o.AlarmCheckInterval = TimeSpan.FromSeconds(1);
            o.ProcessMemoryHighWatermark = 1;
        });
        AlarmManager alarms = broker.Broker.Alarms;
        foreach (string name in new[] { "a", "b", "c" })
        {
            alarms.Activate(name, name);
            alarms.Deactivate(name);
        }

        Assert.That(alarms.ListDeactivated().Select(a => a.Name), Is.EqualTo(new[] { "c", "b" }));

        broker.Advance(TimeSpan.FromSeconds(11));
        Assert.That(alarms.ListDeactivated(), Is.Empty);

        alarms.Activate("d", "d");
        alarms.Deactivate("d");
        alarms.ClearDeactivated();
        Assert.That(alarms.ListAll(), Is.Empty);
    }
}
