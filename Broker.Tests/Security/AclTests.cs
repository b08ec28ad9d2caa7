using System.Text;
using Broker.Core.Configuration;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Tests.TestSupport;
using static Broker.Tests.Security.SecurityTestSupport;

namespace Broker.Tests.Security;

/// <summary>The built-in ACL enforced on SUBSCRIBE and PUBLISH (behaviour doc 2.8), with acl_nomatch, acl_deny_action and the cache.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class AclTests
{
    private static TestBroker NewBroker(Action<BrokerOptions>? configure = null) => new(o =>
    {
        o.SysTopicsEnabled = false;
        configure?.Invoke(o);
    });

    // SUBACK 0x87 for v5; 3.1.1 has only 0x80 Failure.
    [TestCase(ProtocolVersion.V500, ReasonCode.NotAuthorized)]
    [TestCase(ProtocolVersion.V311, ReasonCode.UnspecifiedError)]
    public async Task Subscribe_Denied_SubAckFailure_OthersGranted(ProtocolVersion version, ReasonCode expected)
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "test/nosubscribe", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c", version);

        List<ReasonCode> codes = await client.SubscribeAsync(
            new TopicSubscription("test/nosubscribe", QualityOfService.AtLeastOnce),
            new TopicSubscription("test/ok", QualityOfService.AtLeastOnce));

        Assert.That(codes, Is.EqualTo(new[] { expected, ReasonCode.GrantedQoS1 }));
        Assert.That(broker.Broker.GetSubscriptions("c").Select(s => s.Topic), Is.EqualTo(new[] { "test/ok" }));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsSubscribeAuthError), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientCheckAcl), Is.EqualTo(2));
    }

    // The rule's topic is a filter: it covers subscriptions it matches word by word ("t/a/+" under "t/#"), not wider ones.
    [TestCase("t/#", "t/a/+", ReasonCode.NotAuthorized)]
    [TestCase("t/#", "t", ReasonCode.NotAuthorized)]
    [TestCase("t/+", "t/x", ReasonCode.NotAuthorized)]
    [TestCase("t/a", "t/#", ReasonCode.GrantedQoS0)]
    [TestCase("#", "$SYS/x", ReasonCode.GrantedQoS0)]
    public async Task Subscribe_RuleFilterMatchesTheSubscribedFilter(string rule, string filter, ReasonCode expected)
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, rule, AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");

        Assert.That(await client.SubscribeAsync(filter), Is.EqualTo(new[] { expected }));
    }

    // EMQX parses $share/group/ off before the ACL check.
    [Test]
    public async Task Subscribe_SharedFilter_CheckedWithoutPrefix()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "jobs/#", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");

        Assert.That(await client.SubscribeAsync("$share/g/jobs/1"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
    }

    [TestCase(ProtocolVersion.V500)]
    [TestCase(ProtocolVersion.V311)]
    public async Task Publish_Denied_NotDelivered_QoS1AckedNotAuthorized(ProtocolVersion version)
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.Username, "pub", "secret/#", AclAction.Publish, AclAccess.Deny);
        PipeClient subscriber = await broker.ConnectAsync("sub");
        await subscriber.SubscribeAsync("#");
        PipeClient publisher = await broker.ConnectAsync("p", version, configure: c => c.UserName = "pub");

        await publisher.PublishAsync("secret/a", "q0");
        await publisher.PublishAsync("secret/b", "q1", QualityOfService.AtLeastOnce, packetId: 1);
        PublishAckPacket ack = await publisher.ExpectAckAsync(PacketType.PubAck, 1);
        await publisher.PublishAsync("open/marker", "m");

        Assert.That(await subscriber.ReceivePublishesUntilAsync("open/marker"), Is.Empty);
        Assert.That(ack.ReasonCode, Is.EqualTo(version == ProtocolVersion.V500 ? ReasonCode.NotAuthorized : ReasonCode.Success), "3.1.1 PUBACK has no code");
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishAuthError), Is.EqualTo(2));
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesReceived), Is.EqualTo(3));
    }

    [Test]
    public async Task Publish_QoS2Denied_PubRecNotAuthorized_NothingAwaitingRel()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "x", AclAction.Publish, AclAccess.Deny);
        PipeClient publisher = await broker.ConnectAsync("p");

        await publisher.PublishAsync("x", "q2", QualityOfService.ExactlyOnce, packetId: 7);
        PublishAckPacket pubrec = await publisher.ExpectAckAsync(PacketType.PubRec, 7);

        Assert.That(pubrec.ReasonCode, Is.EqualTo(ReasonCode.NotAuthorized));
        Assert.That(broker.Broker.GetSession("p")!.AwaitingRel, Is.Zero);
    }

    [Test]
    public async Task DenyActionDisconnect_Publish_DisconnectNotAuthorized()
    {
        await using TestBroker broker = NewBroker(o => o.AclDenyAction = AclDenyAction.Disconnect);
        broker.Broker.Acl.Add(AclTarget.All, null, "x", AclAction.Publish, AclAccess.Deny);
        PipeClient publisher = await broker.ConnectAsync("p");

        await publisher.PublishAsync("x", "m", QualityOfService.AtLeastOnce, packetId: 1);

        await publisher.ExpectClosedWithAsync(ReasonCode.NotAuthorized);
        Assert.That(broker.Broker.Disconnects.Get(DisconnectReason.NotAuthorized), Is.EqualTo(1));
    }

    [TestCase(ProtocolVersion.V500)]
    [TestCase(ProtocolVersion.V311)]
    public async Task DenyActionDisconnect_Subscribe_ClosedWithoutSubAck_NothingSubscribed(ProtocolVersion version)
    {
        await using TestBroker broker = NewBroker(o => o.AclDenyAction = AclDenyAction.Disconnect);
        broker.Broker.Acl.Add(AclTarget.All, null, "x", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectPersistentAsync("c", version);

        await client.SendAsync(new SubscribePacket { PacketIdentifier = 1, Subscriptions = [new TopicSubscription("ok", QualityOfService.AtMostOnce), new TopicSubscription("x", QualityOfService.AtMostOnce)] });

        await client.ExpectClosedWithAsync(ReasonCode.NotAuthorized);
        Assert.That(broker.Broker.GetSubscriptions("c"), Is.Empty);
    }

    // Behaviour doc 2.8: client id rules, then username rules, then $all; within a group newest first.
    [Test]
    public async Task MatchingOrder_ClientIdThenUsernameThenAll_NewestFirst()
    {
        await using TestBroker broker = NewBroker(o => o.EnableAclCache = false);
        AclDatabase acl = broker.Broker.Acl;
        acl.Add(AclTarget.All, null, "a/#", AclAction.Subscribe, AclAccess.Deny);
        acl.Add(AclTarget.Username, "u", "a/#", AclAction.Subscribe, AclAccess.Allow);
        acl.Add(AclTarget.ClientId, "c", "a/1", AclAction.Subscribe, AclAccess.Deny);
        acl.Add(AclTarget.All, null, "b/#", AclAction.Subscribe, AclAccess.Deny);
        acl.Add(AclTarget.All, null, "b/1", AclAction.Subscribe, AclAccess.Allow);
        PipeClient client = await broker.ConnectAsync("c", configure: c => c.UserName = "u");
        PipeClient other = await broker.ConnectAsync("other");

        Assert.That(await client.SubscribeAsync("a/1"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }), "client id rule first");
        Assert.That(await client.SubscribeAsync("a/2"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }), "then the username's");
        Assert.That(await other.SubscribeAsync("a/2"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }), "then $all");
        Assert.That(await other.SubscribeAsync("b/1"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }), "newest $all rule first");
        Assert.That(await other.SubscribeAsync("b/2"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
    }

    [Test]
    public async Task SameTargetActionTopic_Replaces()
    {
        await using TestBroker broker = NewBroker();
        AclDatabase acl = broker.Broker.Acl;
        acl.Add(AclTarget.All, null, "t", AclAction.Subscribe, AclAccess.Deny);
        acl.Add(AclTarget.All, null, "t", AclAction.Subscribe, AclAccess.Allow);

        Assert.That(acl.Count, Is.EqualTo(1));
        PipeClient client = await broker.ConnectAsync("c");
        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
    }

    // %c and %u stand for the client's own id and username.
    [Test]
    public async Task Placeholders_OwnTopicsOnly()
    {
        await using TestBroker broker = NewBroker(o => o.AclNoMatch = AclNoMatch.Deny);
        broker.Broker.Acl.Add(AclTarget.All, null, "devices/%c/#", AclAction.Subscribe, AclAccess.Allow);
        broker.Broker.Acl.Add(AclTarget.All, null, "users/%u", AclAction.Subscribe, AclAccess.Allow);
        PipeClient client = await broker.ConnectAsync("d1", configure: c => c.UserName = "ann");
        PipeClient anonymous = await broker.ConnectAsync("d2");

        Assert.That(await client.SubscribeAsync("devices/d1/up"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
        Assert.That(await client.SubscribeAsync("devices/d2/up"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
        Assert.That(await client.SubscribeAsync("users/ann"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
        Assert.That(await anonymous.SubscribeAsync("users/%u"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }), "no username: a %u rule never matches");
    }

    [Test]
    public async Task NoMatchDeny_NoRules_EverythingDenied()
    {
        await using TestBroker broker = NewBroker(o => o.AclNoMatch = AclNoMatch.Deny);
        PipeClient client = await broker.ConnectAsync("c");

        Assert.That(await client.SubscribeAsync("any"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
        await client.PublishAsync("any", "m", QualityOfService.AtLeastOnce, packetId: 1);
        Assert.That((await client.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NotAuthorized));
    }

    // No rules and acl_nomatch = allow: the check is skipped entirely, nothing counted, nothing cached.
    [Test]
    public async Task NoRules_DefaultAllow_CheckSkipped()
    {
        await using TestBroker broker = NewBroker();
        PipeClient client = await broker.ConnectAsync("c");

        await client.SubscribeAsync("t");
        await client.PublishAsync("t", "m");
        await client.ExpectPublishAsync("t", "m");

        Assert.That(broker.Broker.Counters.Get(CounterId.ClientCheckAcl), Is.Zero);
        Assert.That(broker.Broker.GetAclCache("c"), Is.Empty);
    }

    [Test]
    public async Task Superuser_SkipsAcl()
    {
        await using TestBroker broker = NewBroker(o => o.AclNoMatch = AclNoMatch.Deny);
        broker.Broker.Users.TryAdd(UserKind.Username, "root", "pw", isSuperuser: true);
        PipeClient root = await ConnectAsUserAsync(broker, "r", "root", "pw");

        Assert.That(await root.SubscribeAsync("anything/#"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientCheckAcl), Is.Zero);
    }

    [Test]
    public async Task EnableAclOff_NothingChecked()
    {
        await using TestBroker broker = NewBroker(o =>
        {
            o.EnableAcl = false;
            o.AclNoMatch = AclNoMatch.Deny;
        });
        PipeClient client = await broker.ConnectAsync("c");

        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
    }

    [Test]
    public async Task Cache_HoldsAnswers_ShownAndCleared()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "deny/#", AclAction.Publish, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");
        await client.SubscribeAsync("x");
        await client.PublishAsync("deny/1", "m", QualityOfService.AtLeastOnce, packetId: 1);
        await client.ExpectAckAsync(PacketType.PubAck, 1);
        await client.PublishAsync("deny/1", "m", QualityOfService.AtLeastOnce, packetId: 2);
        await client.ExpectAckAsync(PacketType.PubAck, 2);

        IReadOnlyList<AclCacheEntry> cache = broker.Broker.GetAclCache("c")!;
        long now = broker.Time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.That(cache, Is.EqualTo(new[]
        {
            new AclCacheEntry(AclAction.Subscribe, "x", AclAccess.Allow, now),
            new AclCacheEntry(AclAction.Publish, "deny/1", AclAccess.Deny, now),
        }));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientCheckAcl), Is.EqualTo(3), "every check counts, cache hits included");

        Assert.That(broker.Broker.ClearAclCache("c"), Is.True);
        Assert.That(broker.Broker.GetAclCache("c"), Is.Empty);
        Assert.That(broker.Broker.GetAclCache("nobody"), Is.Null);
        Assert.That(broker.Broker.ClearAclCache("nobody"), Is.False);
    }

    // EMQX keeps a cached answer until the TTL; here a rule change also makes older answers stale at once.
    [Test]
    public async Task Cache_RuleChange_TakesEffectAtOnce()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "other", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");
        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));

        broker.Broker.Acl.Add(AclTarget.ClientId, "c", "t", AclAction.Subscribe, AclAccess.Deny);

        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
    }

    [Test]
    public async Task Cache_BoundedBySize_OldestEvicted()
    {
        await using TestBroker broker = NewBroker(o => o.AclCacheMaxSize = 2);
        broker.Broker.Acl.Add(AclTarget.All, null, "zzz", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");

        await client.SubscribeAsync("a");
        await client.SubscribeAsync("b");
        await client.SubscribeAsync("c");

        Assert.That(broker.Broker.GetAclCache("c")!.Select(e => e.Topic), Is.EqualTo(new[] { "b", "c" }));
    }

    [Test]
    public async Task Cache_ExpiresAfterTtl()
    {
        await using TestBroker broker = NewBroker(o => o.AclCacheTtl = TimeSpan.FromSeconds(10));
        broker.Broker.Acl.Add(AclTarget.All, null, "zzz", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");
        await client.SubscribeAsync("a");
        await client.SubscribeAsync("a");
        long hits = broker.Broker.Counters.Get(CounterId.ClientCheckAcl);

        broker.Advance(TimeSpan.FromSeconds(11));
        await client.SubscribeAsync("a");

        Assert.That(hits, Is.EqualTo(2));
        Assert.That(broker.Broker.GetAclCache("c")!.Single().UpdatedTime, Is.EqualTo(broker.Time.GetUtcNow().ToUnixTimeMilliseconds()), "re-evaluated and cached again");
    }

    [Test]
    public async Task CacheOff_NothingCached_StillEnforced()
    {
        await using TestBroker broker = NewBroker(o => o.EnableAclCache = false);
        broker.Broker.Acl.Add(AclTarget.All, null, "t", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");

        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
        Assert.That(broker.Broker.GetAclCache("c"), Is.Empty);
    }

    [Test]
    public async Task AclModuleUnloaded_RulesIgnored()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "t", AclAction.Subscribe, AclAccess.Deny);
        PipeClient client = await broker.ConnectAsync("c");
        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));

        broker.Broker.Modules.Unload("emqx_acl_mnesia");

        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
    }

    // EMQX's mqtt/subscribe API path hands the subscription to the channel without an ACL check; so does ours.
    [Test]
    public async Task ManagementSubscribe_NotChecked()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "t", AclAction.Subscribe, AclAccess.Deny);
        await broker.ConnectAsync("c");

        Assert.That(broker.Broker.Subscribe("c", "t", QualityOfService.AtMostOnce), Is.EqualTo(ReasonCode.GrantedQoS0));
    }

    // EMQX 4.4 drops a will whose topic the client may not publish to; the connection itself is accepted.
    [Test]
    public async Task Will_DeniedTopic_Dropped_AllowedTopic_Published()
    {
        await using TestBroker broker = NewBroker();
        broker.Broker.Acl.Add(AclTarget.All, null, "wills/forbidden", AclAction.Publish, AclAccess.Deny);
        PipeClient watcher = await broker.ConnectAsync("w");
        await watcher.SubscribeAsync("wills/#");
        PipeClient denied = await broker.ConnectAsync("d", configure: c => c.Will = Will("wills/forbidden"));
        PipeClient allowed = await broker.ConnectAsync("a", configure: c => c.Will = Will("wills/ok"));

        await denied.DropAndWaitAsync();
        await allowed.DropAndWaitAsync();

        List<PublishModel> received = await watcher.ReceivePublishesUntilAsync("wills/ok");
        Assert.That(received, Is.Empty);
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsPublishAuthError), Is.EqualTo(1));
    }

    private static WillMessage Will(string topic) => new()
    {
        Topic = Encoding.UTF8.GetBytes(topic),
        Payload = "gone"u8.ToArray(),
        QoS = QualityOfService.AtMostOnce,
    };

    [Test]
    public void Database_ListAndRemove()
    {
        var broker = new Broker.Core.MqttBroker();
        AclDatabase acl = broker.Acl;
        acl.Add(AclTarget.ClientId, "c1", "t/1", AclAction.Publish, AclAccess.Allow);
        acl.Add(AclTarget.ClientId, "c1", "t/1", AclAction.Subscribe, AclAccess.Allow);
        acl.Add(AclTarget.ClientId, "c2", "t/2", AclAction.Publish, AclAccess.Deny);
        acl.Add(AclTarget.Username, "u", "t/3", AclAction.Publish, AclAccess.Deny);
        acl.Add(AclTarget.All, "ignored", "t/4", AclAction.Subscribe, AclAccess.Deny);
        int generation = acl.Generation;

        Assert.That(acl.Count, Is.EqualTo(5));
        Assert.That(acl.List(AclTarget.ClientId).Select(r => r.Who), Is.EqualTo(new[] { "c2", "c1", "c1" }));
        Assert.That(acl.List(AclTarget.All).Single().Who, Is.EqualTo("$all"));
        Assert.That(acl.ListAll().Select(r => r.Topic), Is.EqualTo(new[] { "t/2", "t/1", "t/1", "t/3", "t/4" }));

        Assert.That(acl.Remove(AclTarget.ClientId, "c1", "t/1"), Is.EqualTo(2));
        Assert.That(acl.Remove(AclTarget.ClientId, "c1", "t/1"), Is.Zero);
        Assert.That(acl.Count, Is.EqualTo(3));
        Assert.That(acl.Generation, Is.GreaterThan(generation));
        Assert.That(acl.Check("c2", null, AclAction.Publish, Encoding.UTF8.GetBytes("t/2")), Is.EqualTo(AclAccess.Deny));
        Assert.That(acl.Check("c2", null, AclAction.Subscribe, Encoding.UTF8.GetBytes("t/2")), Is.Null);
    }
}

/// <summary>The publish-path cost of the ACL: a cache hit allocates nothing; no rules and allow-by-default skip everything.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class AclHotPathTests
{
    [Test]
    public async Task CacheHit_AllocatesNothing()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        broker.Broker.Acl.Add(AclTarget.All, null, "deny/#", AclAction.Publish, AclAccess.Deny);
        await broker.ConnectAsync("c");
        Broker.Core.Connections.MqttConnection connection = broker.Broker.Sessions.Find("c")!.Connection!;
        byte[] topic = Encoding.UTF8.GetBytes("sensors/1/temperature");
        Assert.That(broker.Broker.IsAllowed(connection, AclAction.Publish, topic), Is.True, "first check: a miss, cached");

        long before = GC.GetAllocatedBytesForCurrentThread();
        bool allowed = true;
        for (int i = 0; i < 1000; i++)
        {
            allowed &= broker.Broker.IsAllowed(connection, AclAction.Publish, topic);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allowed, Is.True);
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public async Task NoRules_AllocatesNothing_CountsNothing()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        await broker.ConnectAsync("c");
        Broker.Core.Connections.MqttConnection connection = broker.Broker.Sessions.Find("c")!.Connection!;
        byte[] topic = Encoding.UTF8.GetBytes("t");
        broker.Broker.IsAllowed(connection, AclAction.Publish, topic);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            broker.Broker.IsAllowed(connection, AclAction.Publish, topic);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientCheckAcl), Is.Zero);
        Assert.That(connection.AclCache, Is.Null);
    }
}
