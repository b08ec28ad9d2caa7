using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Mqtt;

/// <summary>The connections gauge counts accepted MQTT clients (EMQX's connections.count), not bare sockets.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ConnectionStatsTests
{
    [Test]
    public async Task ConnectionsCountsClientsWhoseConnectWasAccepted()
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(Broker.Core.Security.UserKind.Username, "u", string.Empty);
        PipeClient silent = broker.Open();
        PipeClient member = await broker.ConnectAsync("member", configure: c => c.UserName = "u");
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.EqualTo(1), "the socket that sent nothing is not a connection yet");

        PipeClient refused = broker.Open(ProtocolVersion.V311);
        await refused.SendConnectAsync(new Broker.Core.Packets.ConnectPacket { ClientId = "anonymous", ProtocolVersion = ProtocolVersion.V311 });
        await refused.ExpectClosedAsync();
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.EqualTo(1), "a refused CONNECT never counts");
        Assert.That(broker.Broker.Disconnects.Get(DisconnectReason.ConnectRefused), Is.EqualTo(1));

        await member.DisconnectAsync();
        await member.ExpectClosedAsync();
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.Zero);
        Assert.That(broker.Broker.Stats.GetMax(StatId.Connections), Is.EqualTo(1));
        Assert.That(broker.Broker.Disconnects.Snapshot(), Is.EquivalentTo(new Dictionary<DisconnectReason, long>
        {
            [DisconnectReason.ConnectRefused] = 1,
            [DisconnectReason.ClientDisconnect] = 1,
        }));

        await silent.DropAsync();
        await silent.ExpectClosedAsync();
        Assert.That(broker.Broker.Stats.GetCount(StatId.Connections), Is.Zero);
    }
}
