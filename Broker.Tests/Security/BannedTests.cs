using System.Net;
using Broker.Core;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Tests.TestSupport;
using static Broker.Tests.Security.SecurityTestSupport;

namespace Broker.Tests.Security;

/// <summary>The banned list refusing CONNECT until <c>until</c> (behaviour doc 2.6).</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class BannedTests
{
    // v5: 0x8A Banned; 3.1/3.1.1 have no such code: 0x05 Not authorized.
    [TestCase(ProtocolVersion.V500, 0x8A)]
    [TestCase(ProtocolVersion.V311, 0x05)]
    [TestCase(ProtocolVersion.V310, 0x05)]
    public async Task BannedClientId_Refused(ProtocolVersion version, int expected)
    {
        await using var broker = new TestBroker();
        broker.Broker.Banned.Add(BanKind.ClientId, "bad", "spam");

        Assert.That(await ConnectCodeAsync(broker, version, "bad"), Is.EqualTo(expected));
        Assert.That(await ConnectCodeAsync(broker, version, "good"), Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsConnackError), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsConnackAuthError), Is.Zero);
    }

    // The ban is checked before authentication: a right password does not help.
    [Test]
    public async Task BannedUsername_RefusedEvenWithRightPassword()
    {
        await using var broker = new TestBroker();
        broker.Broker.Users.TryAdd(UserKind.Username, "mallory", "pw");
        broker.Broker.Banned.Add(BanKind.Username, "mallory");

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c", "mallory", "pw"), Is.EqualTo(0x8A));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthenticate), Is.Zero);
    }

    [TestCase("10.1.2.3", "10.1.2.3")]
    [TestCase("::ffff:10.1.2.3", "10.1.2.3")]
    [TestCase("10.1.2.3", "::ffff:10.1.2.3")]
    public async Task BannedPeerHost_Refused(string banned, string peer)
    {
        await using var broker = new TestBroker();
        broker.Broker.Banned.Add(BanKind.PeerHost, banned);
        var client = new PipeClient(broker.Broker, ProtocolVersion.V500, new ConnectionInfo { RemoteEndPoint = new IPEndPoint(IPAddress.Parse(peer), 50000) });
        await using (client)
        {
            ConnAckPacket ack = await client.SendConnectAsync(Connect(ProtocolVersion.V500, "c"));

            Assert.That(ack.ReasonCode, Is.EqualTo(ReasonCode.Banned));
        }
    }

    [Test]
    public async Task BanExpires_ThenConnects_AndIsPurged()
    {
        await using var broker = new TestBroker();
        broker.Broker.Banned.Add(BanKind.ClientId, "c", duration: TimeSpan.FromSeconds(30));
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c"), Is.EqualTo(0x8A));

        broker.Advance(TimeSpan.FromSeconds(31));

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c"), Is.Zero);
        Assert.That(broker.Broker.Banned.Count, Is.Zero, "the housekeeping sweep purged it");
    }

    [Test]
    public void DefaultBan_LastsThreeHundredSeconds_ByUser()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var broker = new MqttBroker(timeProvider: time);

        BanEntry entry = broker.Banned.Add(BanKind.Username, "u", "why");

        Assert.That(entry, Is.EqualTo(new BanEntry(BanKind.Username, "u", "why", "user", 1_700_000_000, 1_700_000_300)));
        Assert.That(broker.Banned.List(), Is.EqualTo(new[] { entry }));
        Assert.That(broker.Banned.Find(BanKind.Username, "u"), Is.EqualTo(entry));
        Assert.That(broker.Banned.Remove(BanKind.Username, "u"), Is.True);
        Assert.That(broker.Banned.Remove(BanKind.Username, "u"), Is.False);
        Assert.That(broker.Banned.List(), Is.Empty);
    }

    [Test]
    public void SameWho_Replaced_KindsSeparate()
    {
        var broker = new MqttBroker();
        broker.Banned.Add(BanKind.ClientId, "x", "first");
        broker.Banned.Add(BanKind.ClientId, "x", "second");
        broker.Banned.Add(BanKind.Username, "x");

        Assert.That(broker.Banned.Count, Is.EqualTo(2));
        Assert.That(broker.Banned.Find(BanKind.ClientId, "x")!.Reason, Is.EqualTo("second"));
        Assert.That(broker.Banned.IsBanned("y", "x", null), Is.True);
        Assert.That(broker.Banned.IsBanned("y", null, null), Is.False);
    }
}
