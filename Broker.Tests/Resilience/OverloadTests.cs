using System.Net.Sockets;
using System.Text.Json;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Tests.EndToEnd;
using Broker.Tests.Http;
using Broker.Tests.TestSupport;
using Broker.Transport.Connections;

namespace Broker.Tests.Resilience;

/// <summary>
/// Overload protection seen from real TCP clients: a subscriber that stops reading costs a bounded amount (QoS 0 dropped
/// and counted past the output buffer limit, QoS 1 queued up to max_mqueue_len, then dropped and counted) while other
/// clients lose nothing; connections above max_conns are closed at accept, counted, and raise too_many_connections.
/// </summary>
[TestFixture]
public sealed class OverloadTests
{
    [Test, CancelAfter(120_000)]
    public async Task StalledSubscriber_IsBounded_DropsAreCounted_AndAHealthyPairLosesNothing(CancellationToken cancellationToken)
    {
        const int QoS0Flood = 12_000;      // 1 KB each: 12 MB, far beyond the 256 KB output limit plus socket buffers (4 MB wmem max here)
        const int QoS1Flood = 400;
        const int Inflight = 10;
        const int QueueLength = 100;
        const int HealthyMessages = 300;
        await using TcpBroker broker = await TcpBroker.StartAsync(o =>
        {
            o.MaximumOutputBufferSize = 256 * 1024;
            o.MaximumInflight = Inflight;
            o.MaximumQueueLength = QueueLength;
        }, cancellationToken);

        // Stops reading after SUBACK, with a small receive window so the kernel cannot soak up the flood.
        await using RawClient stalled = await RawClient.ConnectAsync(broker.Port, "stalled", cancellationToken, receiveBufferSize: 4096);
        await stalled.SubscribeAsync("flood/0", QualityOfService.AtMostOnce, cancellationToken);
        await stalled.SubscribeAsync("flood/1", QualityOfService.AtLeastOnce, cancellationToken);

        await using RawClient healthySub = await RawClient.ConnectAsync(broker.Port, "healthy-sub", cancellationToken);
        await healthySub.SubscribeAsync("healthy", QualityOfService.AtLeastOnce, cancellationToken);
        healthySub.StartReading();
        await using RawClient healthyPub = await RawClient.ConnectAsync(broker.Port, "healthy-pub", cancellationToken);
        healthyPub.StartReading();
        await using RawClient flooder = await RawClient.ConnectAsync(broker.Port, "flooder", cancellationToken);
        flooder.StartReading();

        Task flood = Task.Run(async () =>
        {
            byte[] payload = new byte[1024];
            for (int i = 0; i < QoS0Flood; i++)
            {
                await flooder.SendAsync(RawClient.Publish("flood/0", payload, QualityOfService.AtMostOnce, 0), cancellationToken);
            }

            for (int i = 1; i <= QoS1Flood; i++)
            {
                await flooder.SendAsync(RawClient.Publish("flood/1", BitConverter.GetBytes(i), QualityOfService.AtLeastOnce, (ushort)i), cancellationToken);
            }
        }, cancellationToken);

        // Meanwhile, a healthy pair exchanges QoS 1 in lockstep batches.
        for (int i = 1; i <= HealthyMessages; i++)
        {
            await healthyPub.SendAsync(RawClient.Publish("healthy", BitConverter.GetBytes(i), QualityOfService.AtLeastOnce, (ushort)i), cancellationToken);
            if (i % 25 == 0)
            {
                int expected = i;
                await Poll.UntilAsync(() => healthySub.Received("healthy") >= expected, cancellationToken);
            }
        }

        await flood;
        BrokerCounters counters = broker.Broker.Counters;
        // Every QoS 1 flood message past the inflight window and the queue pushed the oldest queued one out.
        await Poll.UntilAsync(() => counters.Get(CounterId.DeliveryDroppedQueueFull) == QoS1Flood - Inflight - QueueLength, cancellationToken);
        await Poll.UntilAsync(() => healthySub.Received("healthy") == HealthyMessages, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.GreaterThan(0), "QoS 0 past the output buffer limit is dropped and counted");
            Assert.That(counters.Get(CounterId.DeliveryDroppedQos0Msg), Is.LessThan(QoS0Flood), "what fits is kept");
            Assert.That(counters.Get(CounterId.DeliveryDropped), Is.EqualTo(counters.Get(CounterId.DeliveryDroppedQos0Msg) + counters.Get(CounterId.DeliveryDroppedQueueFull)));
            Assert.That(healthySub.OutOfOrder, Is.Zero, "the healthy subscriber got its QoS 1 messages in order");
            Assert.That(broker.IsConnected("stalled"), Is.True, "a slow consumer is bounded, not disconnected");
            Assert.That(broker.Broker.Sessions.Find("stalled")!.QueueLength, Is.EqualTo(QueueLength), "QoS 1 queued up to max_mqueue_len");
        }
    }

    [Test, CancelAfter(120_000)]
    public async Task ConnectionFloodAboveMaxConns_IsClosedAtAccept_Counted_AndTheAlarmIsRaisedThenCleared(CancellationToken cancellationToken)
    {
        const int MaxConns = 10;
        await using ServerApi server = await ServerApi.StartAsync(o =>
        {
            o.MqttTcp.MaxConnections = MaxConns;
            o.Broker.AlarmCheckInterval = TimeSpan.FromSeconds(1);
            o.Broker.ProcessMemoryHighWatermark = 1;
        }, cancellationToken);

        var admitted = new List<RawClient>();
        for (int i = 0; i < MaxConns; i++)
        {
            admitted.Add(await RawClient.ConnectAsync(server.MqttPort, "c" + i, cancellationToken));
        }

        // The flood: each extra socket is accepted and closed at once, before any CONNACK (as esockd does).
        for (int i = 0; i < 20; i++)
        {
            using var extra = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await extra.ConnectAsync(System.Net.IPAddress.Loopback, server.MqttPort, cancellationToken);
            try
            {
                await extra.SendAsync(RawMqtt.Connect("extra" + i, ProtocolVersion.V500), SocketFlags.None, cancellationToken);
            }
            catch (SocketException)
            {
                // Already reset: refused all the same.
            }

            Assert.That(await RawMqtt.WaitClosedAsync(extra, TimeSpan.FromSeconds(20), cancellationToken), Is.True, $"extra connection {i} is closed");
        }

        JsonElement listeners = await server.GetAsync("/api/v4/listeners", cancellationToken);
        JsonElement mqtt = listeners.GetProperty("data")[0].GetProperty("listeners").EnumerateArray().First(l => l.GetProperty("protocol").GetString() == "mqtt:tcp");
        Assert.That(mqtt.GetProperty("shutdown_count").GetProperty(ShutdownReasons.MaxLimit).GetInt64(), Is.EqualTo(20));
        Assert.That(mqtt.GetProperty("current_conns").GetInt32(), Is.EqualTo(MaxConns));

        // 10 of 10 is above the 80% high watermark: raised at the next check.
        await PollApiAsync(server, "/api/v4/alarms/activated", body => body.Contains("too_many_connections", StringComparison.Ordinal), cancellationToken);

        foreach (RawClient client in admitted)
        {
            await client.DisposeAsync();
        }

        // Below the 60% low watermark: cleared, and listed as deactivated.
        await PollApiAsync(server, "/api/v4/alarms/deactivated", body => body.Contains("too_many_connections", StringComparison.Ordinal), cancellationToken);
        string activated = (await server.GetAsync("/api/v4/alarms/activated", cancellationToken)).GetRawText();
        Assert.That(activated, Does.Not.Contain("too_many_connections"));

        // The listener serves again once below max_conns.
        await using RawClient after = await RawClient.ConnectAsync(server.MqttPort, "after", cancellationToken);
    }

    private static async Task PollApiAsync(ServerApi server, string path, Func<string, bool> condition, CancellationToken cancellationToken)
    {
        while (!condition((await server.GetAsync(path, cancellationToken)).GetRawText()))
        {
            await Task.Delay(100, cancellationToken);
        }
    }
}
