using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Protocol;
using Broker.Core.Packets;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests.TestSupport;

/// <summary>
/// A broker on a <see cref="FakeTimeProvider"/>, for tests over in-memory pipes: keep alive, expiry and retry are
/// driven by <see cref="Advance"/>, not by waiting.
/// </summary>
public sealed class TestBroker : IAsyncDisposable
{
    private readonly List<PipeClient> _clients = [];

    public TestBroker(Action<BrokerOptions>? configure = null)
    {
        // No memory alarm on a loaded CI box: tests that watch $SYS/# would see its event. Alarm tests set their own watermark.
        var options = new BrokerOptions { SysInterval = TimeSpan.Zero, ProcessMemoryHighWatermark = 1 };
        configure?.Invoke(options);
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Broker = new MqttBroker(options, timeProvider: Time);
    }

    public MqttBroker Broker { get; }

    public FakeTimeProvider Time { get; }

    /// <summary>Moves the clock on in one-second steps, so the broker's once-a-second housekeeping runs at each.</summary>
    public void Advance(TimeSpan by)
    {
        for (TimeSpan left = by; left > TimeSpan.Zero; left -= TimeSpan.FromSeconds(1))
        {
            Time.Advance(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    public async Task<PipeClient> ConnectAsync(string clientId, ProtocolVersion version = ProtocolVersion.V500, bool cleanStart = true, Action<ConnectPacket>? configure = null)
    {
        PipeClient client = await PipeClient.ConnectAsync(Broker, clientId, version, cleanStart, configure);
        _clients.Add(client);
        return client;
    }

    /// <summary>
    /// Connects with a session that outlives the connection: Clean Session 0 (3.1, 3.1.1, where the broker's
    /// <see cref="BrokerOptions.SessionExpiryInterval"/> applies), or Clean Start 0 with <paramref name="sessionExpiry"/>
    /// as the v5 Session Expiry Interval, set after <paramref name="configure"/> on the properties it leaves.
    /// </summary>
    public Task<PipeClient> ConnectPersistentAsync(string clientId, ProtocolVersion version = ProtocolVersion.V500, uint sessionExpiry = 300, Action<ConnectPacket>? configure = null)
        => ConnectAsync(clientId, version, cleanStart: false, configure: c =>
        {
            configure?.Invoke(c);
            if (version == ProtocolVersion.V500)
            {
                c.Properties ??= new MqttProperties();
                c.Properties.SessionExpiryInterval = sessionExpiry;
            }
        });

    /// <summary>Disposes <paramref name="client"/> with the broker.</summary>
    public void Track(PipeClient client) => _clients.Add(client);

    /// <summary>A connection that has not sent CONNECT yet; disposed with the broker.</summary>
    public PipeClient Open(ProtocolVersion version = ProtocolVersion.V500)
    {
        var client = new PipeClient(Broker, version);
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (PipeClient client in _clients)
        {
            await client.DisposeAsync();
        }

        await Broker.DisposeAsync();
    }
}
