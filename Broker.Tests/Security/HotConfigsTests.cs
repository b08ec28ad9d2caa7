using Broker.Core.Configuration;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Tests.TestSupport;
using static Broker.Tests.Security.SecurityTestSupport;

namespace Broker.Tests.Security;

/// <summary>EMQX's hot configuration (v3 <c>/configs</c>): options changed at runtime, taking effect on new connections.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class HotConfigsTests
{
    [Test]
    public void List_ShowsKeysValuesTypesAndApps()
    {
        var broker = new Broker.Core.MqttBroker();

        IReadOnlyList<ConfigItem> items = broker.Configs.List();

        Assert.That(items, Does.Contain(new ConfigItem("mqtt.allow_anonymous", "true", "bool", "emqx")));
        Assert.That(items, Does.Contain(new ConfigItem("mqtt.acl_nomatch", "allow", "enum", "emqx")));
        Assert.That(items, Does.Contain(new ConfigItem("mqtt.acl_cache_ttl", "60s", "duration", "emqx")));
        Assert.That(items, Does.Contain(new ConfigItem("retainer.max_payload_size", "1048576", "bytesize", "emqx_retainer")));
        Assert.That(broker.Configs.List("emqx_retainer").Select(i => i.Key), Is.EqualTo(new[] { "retainer.max_payload_size", "retainer.max_retained_messages" }));
    }

    [Test]
    public async Task AllowAnonymousFalse_NewConnectionsRefused()
    {
        await using var broker = new TestBroker();
        PipeClient before = await broker.ConnectAsync("before");

        Assert.That(broker.Broker.Configs.Set("emqx", "mqtt.allow_anonymous", "false", out string? error), Is.EqualTo(ConfigChange.Done), error);

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "after"), Is.EqualTo(0x87));
        Assert.That(await before.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }), "connections already in are kept");
    }

    [Test]
    public async Task AclNoMatchDeny_AppliesToTheNextCheck()
    {
        await using var broker = new TestBroker();
        PipeClient client = await broker.ConnectAsync("c");

        broker.Broker.Configs.Set(null, "mqtt.acl_nomatch", "deny", out _);

        Assert.That(await client.SubscribeAsync("t"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
    }

    [TestCase("mqtt.acl_cache_ttl", "2m", nameof(BrokerOptions.AclCacheTtl), 120.0)]
    [TestCase("mqtt.acl_cache_ttl", "1500", nameof(BrokerOptions.AclCacheTtl), 1.5)]
    [TestCase("mqtt.await_rel_timeout", "1h", nameof(BrokerOptions.AwaitRelTimeout), 3600.0)]
    public void Durations_InEmqxForms(string key, string value, string property, double seconds)
    {
        var broker = new Broker.Core.MqttBroker();

        Assert.That(broker.Configs.Set(null, key, value, out _), Is.EqualTo(ConfigChange.Done));

        Assert.That(typeof(BrokerOptions).GetProperty(property)!.GetValue(broker.Options), Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [Test]
    public void ByteSizes_InEmqxForms()
    {
        var broker = new Broker.Core.MqttBroker();

        broker.Configs.Set("emqx", "mqtt.max_packet_size", "64KB", out _);
        broker.Configs.Set("emqx_retainer", "retainer.max_payload_size", "2MB", out _);

        Assert.That(broker.Options.MaximumPacketSize, Is.EqualTo(65536));
        Assert.That(broker.Options.MaximumRetainedPayloadSize, Is.EqualTo(2 * 1024 * 1024));
    }

    [TestCase("emqx", "mqtt.allow_anonymous", "maybe", ConfigChange.BadValue)]
    [TestCase("emqx", "mqtt.max_inflight", "0", ConfigChange.BadValue)]
    [TestCase("emqx", "mqtt.max_qos_allowed", "3", ConfigChange.BadValue)]
    [TestCase("emqx", "mqtt.nothing", "1", ConfigChange.UnknownKey)]
    [TestCase("emqx_retainer", "mqtt.allow_anonymous", "false", ConfigChange.WrongApp)]
    [TestCase("emqx_auth_mnesia", "auth.mnesia.password_hash", "md5", ConfigChange.BadValue)]
    public void BadChanges_Refused_NothingChanged(string app, string key, string value, ConfigChange expected)
    {
        var broker = new Broker.Core.MqttBroker();
        IReadOnlyList<ConfigItem> before = broker.Configs.List();

        Assert.That(broker.Configs.Set(app, key, value, out string? error), Is.EqualTo(expected));
        Assert.That(error, Is.Not.Null);
        Assert.That(broker.Configs.List(), Is.EqualTo(before));
    }
}
