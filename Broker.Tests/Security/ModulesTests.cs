using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Security;

/// <summary>EMQX's plugins switching real modules of the broker at runtime.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class ModulesTests
{
    [Test]
    public void List_NamesAndDefaults()
    {
        var broker = new Broker.Core.MqttBroker();

        IReadOnlyList<ModuleInfo> modules = broker.Modules.List();

        Assert.That(modules.Select(m => m.Name), Is.EqualTo(new[]
        {
            "emqx_acl_mnesia", "emqx_auth_clientid", "emqx_auth_mnesia", "emqx_auth_username",
            "emqx_delayed_publish", "emqx_management", "emqx_retainer", "emqx_sys",
        }));
        Assert.That(modules.All(m => m.Active), Is.True);
        Assert.That(modules[0].Version, Is.EqualTo(Broker.Core.MqttBroker.Version));
    }

    [Test]
    public void LoadUnload_Results()
    {
        var broker = new Broker.Core.MqttBroker();
        BrokerModules modules = broker.Modules;

        Assert.That(modules.Load("emqx_retainer"), Is.EqualTo(ModuleChange.AlreadyLoaded));
        Assert.That(modules.Unload("emqx_retainer"), Is.EqualTo(ModuleChange.Done));
        Assert.That(modules.Unload("emqx_retainer"), Is.EqualTo(ModuleChange.AlreadyUnloaded));
        Assert.That(broker.Options.RetainerEnabled, Is.False);
        Assert.That(modules.Find("emqx_retainer")!.Active, Is.False);
        Assert.That(modules.Load("emqx_retainer"), Is.EqualTo(ModuleChange.Done));
        Assert.That(modules.Unload("emqx_management"), Is.EqualTo(ModuleChange.NotAllowed));
        Assert.That(modules.Load("emqx_nothing"), Is.EqualTo(ModuleChange.NotFound));
        Assert.That(modules.Unload("emqx_mod_delayed"), Is.EqualTo(ModuleChange.Done), "4.4's module name");
        Assert.That(broker.Options.DelayedPublishEnabled, Is.False);
    }

    // emqx_auth_mnesia is both kinds of user record and the ACL database; it is active only when all three are.
    [Test]
    public void AuthMnesia_SwitchesUsersAndAcl()
    {
        var broker = new Broker.Core.MqttBroker();

        broker.Modules.Unload("emqx_auth_username");
        Assert.That(broker.Modules.Find("emqx_auth_mnesia")!.Active, Is.False);
        Assert.That(broker.Modules.Load("emqx_auth_mnesia"), Is.EqualTo(ModuleChange.Done));
        Assert.That(broker.Options.AuthUsernameEnabled, Is.True);
        Assert.That(broker.Modules.Unload("emqx_auth_mnesia"), Is.EqualTo(ModuleChange.Done));
        Assert.That(broker.Options is { AuthUsernameEnabled: false, AuthClientIdEnabled: false, AclDatabaseEnabled: false }, Is.True);
    }

    [Test]
    public async Task RetainerUnloaded_RetainedNotStored_ThenLoadedAgain()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient publisher = await broker.ConnectAsync("p");
        broker.Broker.Modules.Unload("emqx_retainer");

        await publisher.PublishAsync("r/1", "lost", QualityOfService.AtLeastOnce, packetId: 1, retain: true);
        await publisher.ExpectAckAsync(PacketType.PubAck, 1);
        Assert.That(broker.Broker.Retained.Count, Is.Zero);

        broker.Broker.Modules.Load("emqx_retainer");
        await publisher.PublishAsync("r/2", "kept", QualityOfService.AtLeastOnce, packetId: 2, retain: true);
        await publisher.ExpectAckAsync(PacketType.PubAck, 2);
        PipeClient subscriber = await broker.ConnectAsync("s");
        await subscriber.SubscribeAsync("r/#");
        await subscriber.ExpectPublishAsync("r/2", "kept");
    }

    [Test]
    public async Task SysUnloaded_NoSysMessages()
    {
        await using var broker = new TestBroker(o => o.SysInterval = TimeSpan.FromSeconds(1));
        PipeClient watcher = await broker.ConnectAsync("w");
        await watcher.SubscribeAsync("$SYS/#");
        broker.Broker.Modules.Unload("emqx_sys");

        broker.Advance(TimeSpan.FromSeconds(3));
        await broker.ConnectAsync("someone");
        PipeClient marker = await broker.ConnectAsync("m");
        await watcher.SubscribeAsync("marker");
        await marker.PublishAsync("marker", "x");

        Assert.That(await watcher.ReceivePublishesUntilAsync("marker"), Is.Empty);
        Assert.That(broker.Broker.Counters.Get(CounterId.MessagesRetained), Is.Zero);
    }

    [Test]
    public async Task DelayedUnloaded_DelayedTopicIsPublishedAsIs()
    {
        await using var broker = new TestBroker(o => o.SysTopicsEnabled = false);
        PipeClient subscriber = await broker.ConnectAsync("s");
        await subscriber.SubscribeAsync("$delayed/#");
        PipeClient publisher = await broker.ConnectAsync("p");
        broker.Broker.Modules.Unload("emqx_delayed_publish");

        await publisher.PublishAsync("$delayed/10/t", "now");

        await subscriber.ExpectPublishAsync("$delayed/10/t", "now");
        Assert.That(broker.Broker.DelayedCount, Is.Zero);
    }
}
