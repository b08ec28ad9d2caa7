using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Server;
using Broker.Server.Configuration;
using Broker.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Tests.Server;

/// <summary>Users, ACL rules and bans from the config file and flags, loaded before the broker accepts anyone.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class SecurityBootstrapTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "broker-security-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task ConfigFile_LocksTheBrokerDown()
    {
        string path = Path.Combine(_directory, "broker.json");
        File.WriteAllText(path, """
            {
              "allow_anonymous": false,
              "acl_nomatch": "allow",
              "user": [
                "username:alice:secret",
                {"clientid": "sensor-1", "password": "s1"},
                {"username": "root", "password": "r", "is_superuser": true}
              ],
              "acl": [
                "deny,all,sub,test/nosubscribe",
                {"username": "alice", "action": "pub", "access": "deny", "topic": "readonly/#"}
              ],
              "ban": [{"as": "clientid", "who": "evil", "reason": "known bad"}, "peerhost,10.9.9.9,60"]
            }
            """);
        CommandLineResult result = CommandLine.Parse(["--config", path, "--data-dir", Path.Combine(_directory, "data")]);
        Assert.That(result.Error, Is.Null);

        await using var host = new BrokerHost(result.Options!, NullLoggerFactory.Instance);
        Broker.Core.MqttBroker broker = host.Broker;

        Assert.That(broker.Users.Count, Is.EqualTo(3));
        Assert.That(broker.Acl.Count, Is.EqualTo(2));
        Assert.That(broker.Banned.List().Select(b => b.Who), Is.EquivalentTo(new[] { "evil", "10.9.9.9" }));

        await using var anonymous = new PipeClient(broker);
        Assert.That((await anonymous.SendConnectAsync(Connect("x", null, null))).ReasonCode, Is.EqualTo(ReasonCode.NotAuthorized));
        await using var banned = new PipeClient(broker);
        Assert.That((await banned.SendConnectAsync(Connect("evil", "alice", "secret"))).ReasonCode, Is.EqualTo(ReasonCode.Banned));

        await using PipeClient alice = await PipeClient.ConnectAsync(broker, "a", configure: c => Credentials(c, "alice", "secret"));
        Assert.That(await alice.SubscribeAsync("test/nosubscribe"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));
        Assert.That(await alice.SubscribeAsync("test/other"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }));
        await alice.PublishAsync("readonly/x", "m", QualityOfService.AtLeastOnce, packetId: 1);
        Assert.That((await alice.ExpectAckAsync(PacketType.PubAck, 1)).ReasonCode, Is.EqualTo(ReasonCode.NotAuthorized));

        await using PipeClient sensor = await PipeClient.ConnectAsync(broker, "sensor-1", configure: c => c.Password = "s1"u8.ToArray());
        Assert.That(await sensor.SubscribeAsync("test/nosubscribe"), Is.EqualTo(new[] { ReasonCode.NotAuthorized }));

        await using PipeClient root = await PipeClient.ConnectAsync(broker, "r", configure: c => Credentials(c, "root", "r"));
        Assert.That(await root.SubscribeAsync("test/nosubscribe"), Is.EqualTo(new[] { ReasonCode.GrantedQoS0 }), "superusers skip the ACL");
    }

    [Test]
    public void Flags_AreRepeatable()
    {
        CommandLineResult result = CommandLine.Parse(["--acl", "deny,all,sub,a", "--acl", "allow,clientid:c1,pubsub,b/%c/#", "--user", "clientid:c1:p", "--ban", "username,u,3600"]);

        Assert.That(result.Error, Is.Null);
        Assert.That(result.Options!.AclRules, Is.EqualTo(new[]
        {
            new AclRuleSpec(AclAccess.Deny, AclTarget.All, null, "sub", "a"),
            new AclRuleSpec(AclAccess.Allow, AclTarget.ClientId, "c1", "pubsub", "b/%c/#"),
        }));
        Assert.That(result.Options.Users.Single(), Is.EqualTo(new UserSpec(UserKind.ClientId, "c1", "p", false)));
        Assert.That(result.Options.Bans.Single(), Is.EqualTo(new BanSpec(BanKind.Username, "u", "config", null, 3600)));
    }

    // A topic may contain commas: it is the rest of the value.
    [Test]
    public void Acl_TopicIsTheRest()
        => Assert.That(SecurityBootstrap.ParseAcl("allow,all,pub,a,b/c").Topic, Is.EqualTo("a,b/c"));

    [TestCase("--acl", "maybe,all,sub,t", "not allow or deny")]
    [TestCase("--acl", "deny,everyone,sub,t", "not all, clientid:ID or username:NAME")]
    [TestCase("--acl", "deny,all,read,t", "not pub, sub or pubsub")]
    [TestCase("--acl", "deny,all,sub", "ACCESS,WHO,ACTION,TOPIC")]
    [TestCase("--user", "alice:secret", "KIND:LOGIN:PASSWORD")]
    [TestCase("--user", "email:a:b", "not username or clientid")]
    [TestCase("--ban", "ip,1.2.3.4", "not clientid, username or peerhost")]
    [TestCase("--ban", "clientid,x,soon", "not a positive number of seconds")]
    public void BadValue_NamesTheFlag(string flag, string value, string message)
    {
        CommandLineResult result = CommandLine.Parse([flag, value]);

        Assert.That(result.Error, Does.StartWith($"option {flag}:").And.Contain(message));
    }

    [Test]
    public void ConfigFile_BadArrayItem_NamesTheKey()
    {
        string path = Path.Combine(_directory, "bad.json");
        File.WriteAllText(path, """{"acl": [42]}""");

        Assert.That(CommandLine.Parse(["--config", path]).Error, Does.Contain("key 'acl'"));
    }

    [Test]
    public void Help_ListsTheSecurityFlags()
    {
        string usage = CommandLine.GetUsage();

        Assert.That(usage, Does.Contain("--acl ACCESS,WHO,ACTION,TOPIC").And.Contain("--user KIND:LOGIN:PASSWORD").And.Contain("--ban AS,WHO[,SECONDS]")
            .And.Contain("--acl-nomatch allow|deny").And.Contain("--alarm-max-connections N"));
    }

    // Users given in configuration do not replace one of the same login (EMQX keeps a password changed through the API).
    [Test]
    public void Apply_DoesNotReplaceExistingUsers()
    {
        var options = new ServerOptions();
        options.Users.Add(new UserSpec(UserKind.Username, "alice", "from-config", false));
        var broker = new Broker.Core.MqttBroker();
        broker.Users.TryAdd(UserKind.Username, "alice", "changed");

        SecurityBootstrap.Apply(options, broker);

        Assert.That(broker.Users.Count, Is.EqualTo(1));
    }

    // What the API writes survives a restart; what the configuration gives is applied again instead of being stored.
    [Test]
    public async Task Stores_SurviveARestart_ConfigEntriesAreNotStored()
    {
        string data = Path.Combine(_directory, "data");
        var options = CommandLine.Parse(["--data-dir", data, "--acl", "deny,all,sub,from/config", "--user", "username:cfg:pw"]).Options!;
        await using (var host = new BrokerHost(options, NullLoggerFactory.Instance))
        {
            host.Broker.Users.TryAdd(UserKind.Username, "alice", "secret", isSuperuser: true);
            host.Broker.Users.TryAdd(UserKind.ClientId, "dev", "d");
            host.Broker.Acl.Add(AclTarget.Username, "alice", "old", AclAction.Publish, AclAccess.Deny);
            host.Broker.Acl.Add(AclTarget.All, null, "new", AclAction.Subscribe, AclAccess.Allow);
            host.Broker.Banned.Add(BanKind.PeerHost, "10.0.0.1", "abuse", duration: TimeSpan.FromDays(1));
        }

        string text = Broker.Tests.TestSupport.DatabaseDump.Values(data, "users", "acl", "banned");
        Assert.That(text, Does.Contain("alice").And.Contain("old"), "what the API wrote is in the database");
        Assert.That(text, Does.Not.Contain("secret").And.Not.Contain("from/config").And.Not.Contain("\"cfg\""));

        var fresh = CommandLine.Parse(["--data-dir", data]).Options!;
        await using var restarted = new BrokerHost(fresh, NullLoggerFactory.Instance);
        Broker.Core.MqttBroker broker = restarted.Broker;
        Assert.That(broker.Users.List(UserKind.Username).Select(u => (u.Login, u.IsSuperuser)), Is.EqualTo(new[] { ("alice", true) }));
        Assert.That(broker.Users.Find(UserKind.ClientId, "dev"), Is.Not.Null);
        Assert.That(broker.Acl.ListAll().Select(r => r.Topic), Is.EqualTo(new[] { "old", "new" }));
        Assert.That(broker.Banned.Find(BanKind.PeerHost, "10.0.0.1")!.Reason, Is.EqualTo("abuse"));

        await using PipeClient alice = await PipeClient.ConnectAsync(broker, "a", configure: c => Credentials(c, "alice", "secret"));
        Assert.That(broker.Acl.Check("x", null, AclAction.Subscribe, "new"u8), Is.EqualTo(AclAccess.Allow));
    }

    private static ConnectPacket Connect(string clientId, string? userName, string? password) => new()
    {
        ProtocolName = "MQTT",
        ProtocolVersion = ProtocolVersion.V500,
        ClientId = clientId,
        CleanStart = true,
        UserName = userName,
        Password = password is null ? null : System.Text.Encoding.UTF8.GetBytes(password),
    };

    private static void Credentials(ConnectPacket connect, string userName, string password)
    {
        connect.UserName = userName;
        connect.Password = System.Text.Encoding.UTF8.GetBytes(password);
    }
}
