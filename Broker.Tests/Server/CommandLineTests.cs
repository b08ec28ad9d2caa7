using System.Net;
using System.Reflection;
using Broker.Core.Configuration;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace Broker.Tests.Server;

[TestFixture]
public sealed class CommandLineTests
{
    // One row per option: flag, a non-default value, how to read it back, what it must read back as.
    private static readonly object[][] s_flags =
    [
        ["--node-name", "node1@10.0.0.1", Read(o => o.Broker.NodeName), "node1@10.0.0.1"],
        ["--data-dir", "/var/lib/broker", Read(o => o.DataDirectory), "/var/lib/broker"],
        ["--persist-messages", "false", Read(o => o.PersistMessages), false],
        ["--jit-warmup", "false", Read(o => o.JitWarmup), false],
        ["--log-level", "debug", Read(o => o.LogLevel), LogLevel.Debug],
        ["--shutdown-timeout", "3", Read(o => o.ShutdownTimeout), TimeSpan.FromSeconds(3)],
        ["--bind", "127.0.0.1", Read(o => o.Bind), IPAddress.Loopback],
        ["--mqtt-port", "11883", Read(o => o.MqttPort), 11883],
        ["--acceptors", "7", Read(o => o.MqttTcp.Acceptors), 7],
        ["--max-connections", "500", Read(o => o.MqttTcp.MaxConnections), 500],
        ["--backlog", "128", Read(o => o.MqttTcp.Backlog), 128],
        ["--tcp-write-buffer-size", "0", Read(o => o.MqttTcp.MaxWriteBufferSize), 0],
        ["--inline-io", "false", Read(o => o.MqttTcp.PreferInlineScheduling), false],
        ["--event-loop-slice", "250", Read(o => o.EventLoopSliceMicroseconds), 250],
        ["--event-loop-slice", "0", Read(o => o.EventLoopSliceMicroseconds), 0],
        ["--ssl", "true", Read(o => o.SslEnabled), true],
        ["--ssl-port", "18883", Read(o => o.SslPort), 18883],
        ["--ssl-acceptors", "5", Read(o => o.MqttSsl.Acceptors), 5],
        ["--ssl-max-connections", "600", Read(o => o.MqttSsl.MaxConnections), 600],
        ["--ssl-certfile", "/etc/broker/cert.pem", Read(o => o.Tls.CertificateFile), "/etc/broker/cert.pem"],
        ["--ssl-keyfile", "/etc/broker/key.pem", Read(o => o.Tls.KeyFile), "/etc/broker/key.pem"],
        ["--ssl-password", "pw", Read(o => o.Tls.Password), "pw"],
        ["--ssl-cacertfile", "/etc/broker/ca.pem", Read(o => o.Tls.CaCertificateFile), "/etc/broker/ca.pem"],
        ["--ssl-verify", "verify_peer", Read(o => o.Tls.Verify), Broker.Transport.Tls.TlsVerifyMode.VerifyPeer],
        ["--ssl-fail-if-no-peer-cert", "true", Read(o => o.Tls.FailIfNoPeerCertificate), true],
        ["--peer-cert-as-username", "cn", Read(o => o.Tls.PeerCertAsUserName), Broker.Transport.Tls.PeerCertName.Cn],
        ["--ssl-versions", "tlsv1.3", Read(o => o.Tls.Protocols), System.Security.Authentication.SslProtocols.Tls13],
        ["--ssl-handshake-timeout", "5", Read(o => o.Tls.HandshakeTimeout), TimeSpan.FromSeconds(5)],
        ["--ws", "false", Read(o => o.WsEnabled), false],
        ["--ws-port", "18083", Read(o => o.WsPort), 18083],
        ["--ws-acceptors", "6", Read(o => o.MqttWs.Acceptors), 6],
        ["--ws-max-connections", "700", Read(o => o.MqttWs.MaxConnections), 700],
        ["--ws-path", "/ws", Read(o => o.WebSocket.Path), "/ws"],
        ["--ws-supported-subprotocols", "mqtt,mqttv3.1", Read(o => string.Join(',', o.WebSocket.SupportedSubprotocols)), "mqtt,mqttv3.1"],
        ["--ws-fail-if-no-subprotocol", "false", Read(o => o.WebSocket.FailIfNoSubprotocol), false],
        ["--wss", "false", Read(o => o.WssEnabled), false],
        ["--wss-port", "18084", Read(o => o.WssPort), 18084],
        ["--wss-acceptors", "9", Read(o => o.MqttWss.Acceptors), 9],
        ["--wss-max-connections", "800", Read(o => o.MqttWss.MaxConnections), 800],
        ["--api", "false", Read(o => o.ApiEnabled), false],
        ["--api-bind", "127.0.0.1", Read(o => o.Api.Address), IPAddress.Loopback],
        ["--api-port", "18081", Read(o => o.Api.Port), 18081],
        ["--api-max-body-size", "4096", Read(o => o.Api.MaxBodySize), 4096],
        ["--api-default-app", "false", Read(o => o.ApiDefaultApp), false],
        ["--api-default-app-id", "ops", Read(o => o.ApiDefaultAppId), "ops"],
        ["--api-default-app-secret", "s3cret", Read(o => o.ApiDefaultAppSecret), "s3cret"],
        ["--api-http", "false", Read(o => o.ApiHttp), false],
        ["--api-https", "true", Read(o => o.ApiHttps.Enabled), true],
        ["--api-https-bind", "127.0.0.1", Read(o => o.ApiHttps.Address), IPAddress.Loopback],
        ["--api-https-port", "18443", Read(o => o.ApiHttps.Port), 18443],
        ["--api-https-certfile", "/etc/broker/api.crt", Read(o => o.ApiHttps.CertificateFile), "/etc/broker/api.crt"],
        ["--api-https-keyfile", "/etc/broker/api.key", Read(o => o.ApiHttps.KeyFile), "/etc/broker/api.key"],
        ["--api-https-password", "pfx-pass", Read(o => o.ApiHttps.Password), "pfx-pass"],
        ["--channel", "true", Read(o => o.ChannelEnabled), true],
        ["--channel-user", "ecp:pa:ss", Read(o => o.ChannelUsers.Count == 1 ? o.ChannelUsers[0].Username + "|" + o.ChannelUsers[0].Password : null), "ecp|pa:ss"],
        ["--channel-cluster", "c1,https://emqx.example:8081,app,secret", Read(o => o.ChannelClusters.Count == 1 ? o.ChannelClusters[0] : null),
            new Broker.Http.Channel.ChannelTarget { Id = "c1", Url = "https://emqx.example:8081", Username = "app", Password = "secret", FromConfig = true }],
        ["--channel-edge-service", "n1,http://10.0.0.5:7000", Read(o => o.ChannelEdgeServices.Count == 1 ? o.ChannelEdgeServices[0] : null),
            new Broker.Http.Channel.ChannelTarget { Id = "n1", Url = "http://10.0.0.5:7000", FromConfig = true }],
        ["--channel-token-ttl", "60", Read(o => o.Channel.AccessTokenLifetime), TimeSpan.FromMinutes(1)],
        ["--channel-refresh-ttl", "7200", Read(o => o.Channel.RefreshTokenLifetime), TimeSpan.FromHours(2)],
        ["--channel-upstream-timeout", "5", Read(o => o.Channel.UpstreamTimeout), TimeSpan.FromSeconds(5)],
        ["--max-packet-size", "4096", Read(o => o.Broker.MaximumPacketSize), 4096],
        ["--max-clientid-len", "100", Read(o => o.Broker.MaximumClientIdLength), 100],
        ["--max-topic-levels", "0", Read(o => o.Broker.MaximumTopicLevels), 0],
        ["--max-qos-allowed", "1", Read(o => o.Broker.MaximumQoS), QualityOfService.AtLeastOnce],
        ["--max-topic-alias", "10", Read(o => o.Broker.MaximumTopicAlias), 10],
        ["--max-subscriptions", "50", Read(o => o.Broker.MaximumSubscriptions), 50],
        ["--max-inflight", "64", Read(o => o.Broker.MaximumInflight), 64],
        ["--max-mqueue-len", "5000", Read(o => o.Broker.MaximumQueueLength), 5000],
        ["--max-output-buffer-size", "65536", Read(o => o.Broker.MaximumOutputBufferSize), 65536],
        ["--mqueue-store-qos0", "false", Read(o => o.Broker.QueueQoS0Messages), false],
        ["--max-awaiting-rel", "10", Read(o => o.Broker.MaximumAwaitingRel), 10],
        ["--await-rel-timeout", "60", Read(o => o.Broker.AwaitRelTimeout), TimeSpan.FromSeconds(60)],
        ["--retry-interval", "5", Read(o => o.Broker.RetryInterval), TimeSpan.FromSeconds(5)],
        ["--session-expiry-interval", "0", Read(o => o.Broker.SessionExpiryInterval), TimeSpan.Zero],
        ["--idle-timeout", "30", Read(o => o.Broker.ConnectTimeout), TimeSpan.FromSeconds(30)],
        ["--max-keepalive", "600", Read(o => o.Broker.MaximumKeepAlive), 600],
        ["--server-keepalive", "120", Read(o => o.Broker.ServerKeepAlive), 120],
        ["--retain-available", "false", Read(o => o.Broker.RetainAvailable), false],
        ["--wildcard-subscription", "false", Read(o => o.Broker.WildcardSubscriptionAvailable), false],
        ["--shared-subscription", "false", Read(o => o.Broker.SharedSubscriptionAvailable), false],
        ["--subscription-identifiers", "false", Read(o => o.Broker.SubscriptionIdentifierAvailable), false],
        ["--shared-subscription-strategy", "hash_topic", Read(o => o.Broker.SharedSubscriptionStrategy), SharedSubscriptionStrategy.HashTopic],
        ["--allow-anonymous", "false", Read(o => o.Broker.AllowAnonymous), false],
        ["--ignore-loop-deliver", "true", Read(o => o.Broker.IgnoreLoopDeliver), true],
        ["--sys-interval", "0", Read(o => o.Broker.SysInterval), TimeSpan.Zero],
        ["--sys-topics", "false", Read(o => o.Broker.SysTopicsEnabled), false],
        ["--rule-action-queue-length", "500", Read(o => o.Broker.RuleActionQueueLength), 500],
        ["--retainer", "false", Read(o => o.Broker.RetainerEnabled), false],
        ["--max-retained-messages", "100", Read(o => o.Broker.MaximumRetainedMessages), 100],
        ["--max-retained-payload-size", "2048", Read(o => o.Broker.MaximumRetainedPayloadSize), 2048],
        ["--delayed-publish", "false", Read(o => o.Broker.DelayedPublishEnabled), false],
        ["--user", "username:alice:s:e:cret", Read(o => o.Users.Count == 1 ? o.Users[0] : null), new UserSpec(UserKind.Username, "alice", "s:e:cret", false)],
        ["--acl", "deny,all,sub,test/nosubscribe", Read(o => o.AclRules.Count == 1 ? o.AclRules[0] : null), new AclRuleSpec(AclAccess.Deny, AclTarget.All, null, "sub", "test/nosubscribe")],
        ["--ban", "peerhost,10.0.0.9", Read(o => o.Bans.Count == 1 ? o.Bans[0] : null), new BanSpec(BanKind.PeerHost, "10.0.0.9", "config", null)],
        ["--enable-flapping-detect", "true", Read(o => o.Broker.EnableFlappingDetect), true],
        ["--flapping-detect-policy", "10,30s,1h", Read(o => o.Broker.FlappingDetectPolicy), new FlappingPolicy(10, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1))],
        ["--password-hash", "sha512", Read(o => o.Broker.PasswordHash), PasswordHashAlgorithm.Sha512],
        ["--auth-username", "false", Read(o => o.Broker.AuthUsernameEnabled), false],
        ["--auth-clientid", "false", Read(o => o.Broker.AuthClientIdEnabled), false],
        ["--enable-acl", "false", Read(o => o.Broker.EnableAcl), false],
        ["--acl-database", "false", Read(o => o.Broker.AclDatabaseEnabled), false],
        ["--acl-nomatch", "deny", Read(o => o.Broker.AclNoMatch), AclNoMatch.Deny],
        ["--acl-deny-action", "disconnect", Read(o => o.Broker.AclDenyAction), AclDenyAction.Disconnect],
        ["--enable-acl-cache", "false", Read(o => o.Broker.EnableAclCache), false],
        ["--acl-cache-max-size", "8", Read(o => o.Broker.AclCacheMaxSize), 8],
        ["--acl-cache-ttl", "5", Read(o => o.Broker.AclCacheTtl), TimeSpan.FromSeconds(5)],
        ["--alarm-max-connections", "1000", Read(o => o.Broker.MaximumConnections), 1000],
        ["--alarm-connections-high-watermark", "90%", Read(o => o.Broker.ConnectionsHighWatermark), 0.9],
        ["--alarm-connections-low-watermark", "0.5", Read(o => o.Broker.ConnectionsLowWatermark), 0.5],
        ["--alarm-memory-high-watermark", "0.9", Read(o => o.Broker.ProcessMemoryHighWatermark), 0.9],
        ["--alarm-check-interval", "10", Read(o => o.Broker.AlarmCheckInterval), TimeSpan.FromSeconds(10)],
        ["--alarm-validity-period", "3600", Read(o => o.Broker.AlarmValidityPeriod), TimeSpan.FromHours(1)],
        ["--alarm-size-limit", "10", Read(o => o.Broker.AlarmSizeLimit), 10],
    ];

    [TestCaseSource(nameof(s_flags))]
    public void Flag_SetsItsOption(string flag, string value, Delegate read, object expected)
    {
        CommandLineResult result = CommandLine.Parse([flag, value]);

        Assert.That(result.Error, Is.Null);
        Assert.That(Get(read, result.Options!), Is.EqualTo(expected));
        Assert.That(Get(read, new ServerOptions()), Is.Not.EqualTo(expected), "the row must use a non-default value");
    }

    [TestCaseSource(nameof(s_flags))]
    public void Flag_EqualsForm_SetsItsOption(string flag, string value, Delegate read, object expected)
    {
        CommandLineResult result = CommandLine.Parse([$"{flag}={value}"]);

        Assert.That(Get(read, result.Options!), Is.EqualTo(expected));
    }

    [Test]
    public void EveryOptionInTheTable_HasATestRow()
    {
        var tested = new HashSet<string>();
        foreach (object[] row in s_flags)
        {
            tested.Add((string)row[0]);
        }

        foreach (OptionDefinition definition in OptionTable.All)
        {
            Assert.That(tested, Does.Contain(definition.Flag));
        }
    }

    [Test]
    public void EveryBrokerOptionsProperty_IsSetBySomeFlag()
    {
        var args = new List<string>();
        foreach (object[] row in s_flags)
        {
            args.Add((string)row[0]);
            args.Add((string)row[1]);
        }

        BrokerOptions configured = CommandLine.Parse(args).Options!.Broker;
        var defaults = new BrokerOptions();

        // A property the core engineer adds to BrokerOptions fails here until OptionTable gets its row.
        foreach (PropertyInfo property in typeof(BrokerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite)
            {
                Assert.That(property.GetValue(configured), Is.Not.EqualTo(property.GetValue(defaults)), property.Name);
            }
        }
    }

    [Test]
    public void NoArguments_GiveTheDefaults()
    {
        CommandLineResult result = CommandLine.Parse([]);

        Assert.That(result.Action, Is.EqualTo(CommandLineAction.Run));
        ServerOptions options = result.Options!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.MqttTcp.EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Any, 1883)));
            Assert.That(options.DataDirectory, Is.EqualTo("./data"));
            Assert.That(options.Broker.NodeName, Is.EqualTo("broker@127.0.0.1"));
            Assert.That(options.LogLevel, Is.EqualTo(LogLevel.Information));
            Assert.That(result.ConfigFile, Is.Null);
        }
    }

    [Test]
    public void BindAndPort_ComposeTheListenerEndPoint_InEitherOrder()
    {
        ServerOptions a = CommandLine.Parse(["--bind", "::1", "--mqtt-port", "2883"]).Options!;
        ServerOptions b = CommandLine.Parse(["--mqtt-port", "2883", "--bind", "::1"]).Options!;

        Assert.That(a.MqttTcp.EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.IPv6Loopback, 2883)));
        Assert.That(b.MqttTcp.EndPoint, Is.EqualTo(a.MqttTcp.EndPoint));
    }

    [Test]
    public void RepeatedFlag_LastOneWins()
    {
        ServerOptions options = CommandLine.Parse(["--max-inflight", "10", "--max-inflight", "20"]).Options!;

        Assert.That(options.Broker.MaximumInflight, Is.EqualTo(20));
    }

    [TestCase("--shared-subscription-strategy", "random", SharedSubscriptionStrategy.Random)]
    [TestCase("--shared-subscription-strategy", "round_robin", SharedSubscriptionStrategy.RoundRobin)]
    [TestCase("--shared-subscription-strategy", "sticky", SharedSubscriptionStrategy.Sticky)]
    [TestCase("--shared-subscription-strategy", "hash_clientid", SharedSubscriptionStrategy.HashClientId)]
    [TestCase("--shared-subscription-strategy", "HASH_TOPIC", SharedSubscriptionStrategy.HashTopic)]
    public void Strategy_AcceptsEmqxNames(string flag, string value, SharedSubscriptionStrategy expected)
    {
        Assert.That(CommandLine.Parse([flag, value]).Options!.Broker.SharedSubscriptionStrategy, Is.EqualTo(expected));
    }

    [TestCase(new[] { "--frobnicate", "1" }, "--frobnicate", TestName = "Unknown flag")]
    [TestCase(new[] { "--max-inflight" }, "--max-inflight", TestName = "Missing value at the end")]
    [TestCase(new[] { "--bind", "--mqtt-port", "1" }, "--bind", TestName = "Missing value before the next flag")]
    [TestCase(new[] { "--node-name=" }, "--node-name", TestName = "Empty value")]
    [TestCase(new[] { "--mqtt-port", "abc" }, "--mqtt-port", TestName = "Not an integer")]
    [TestCase(new[] { "--mqtt-port", "65536" }, "--mqtt-port", TestName = "Port out of range")]
    [TestCase(new[] { "--max-inflight", "0" }, "--max-inflight", TestName = "Below the setter's range")]
    [TestCase(new[] { "--max-packet-size", "99999999999" }, "--max-packet-size", TestName = "Integer overflow")]
    [TestCase(new[] { "--acceptors", "0" }, "--acceptors", TestName = "Transport setter range")]
    [TestCase(new[] { "--event-loop-slice", "50" }, "--event-loop-slice", TestName = "Slice below the kernel's 0.1 ms")]
    [TestCase(new[] { "--allow-anonymous", "yes" }, "--allow-anonymous", TestName = "Not a boolean")]
    [TestCase(new[] { "--shared-subscription-strategy", "fastest" }, "--shared-subscription-strategy", TestName = "Unknown strategy")]
    [TestCase(new[] { "--max-qos-allowed", "3" }, "--max-qos-allowed", TestName = "QoS 3")]
    [TestCase(new[] { "--bind", "example.com" }, "--bind", TestName = "Not an IP address")]
    [TestCase(new[] { "--session-expiry-interval", "-1" }, "--session-expiry-interval", TestName = "Negative duration")]
    [TestCase(new[] { "--retry-interval", "0" }, "--retry-interval", TestName = "Zero where positive is required")]
    [TestCase(new[] { "--node-name", "a/b" }, "--node-name", TestName = "Node name with a topic separator")]
    [TestCase(new[] { "--log-level", "loud" }, "--log-level", TestName = "Unknown log level")]
    [TestCase(new[] { "1883" }, "'1883'", TestName = "Positional argument")]
    public void InvalidCommandLine_IsAOneLineErrorNamingTheFlag(string[] args, string named)
    {
        CommandLineResult result = CommandLine.Parse(args);

        Assert.That(result.Action, Is.EqualTo(CommandLineAction.Error));
        Assert.That(result.Error, Does.Contain(named));
        Assert.That(result.Error, Does.Not.Contain("\n"));
        Assert.That(result.Error, Does.Not.Contain("Parameter"));
    }

    [Test]
    public void OutOfRange_ReportsTheSettersBounds()
    {
        string? error = CommandLine.Parse(["--max-inflight", "0"]).Error;

        Assert.That(error, Is.EqualTo("option --max-inflight: invalid value '0': Must be between 1 and 65535."));
    }

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("-?")]
    public void Help_WinsOverEverythingElse(string flag)
    {
        Assert.That(CommandLine.Parse(["--mqtt-port", "abc", flag]).Action, Is.EqualTo(CommandLineAction.Help));
    }

    [Test]
    public void Usage_ListsEveryOptionWithItsDefault()
    {
        string usage = CommandLine.GetUsage();
        var defaults = new ServerOptions();

        foreach (OptionDefinition definition in OptionTable.All)
        {
            Assert.That(usage, Does.Contain($"{definition.Flag} {definition.ValueName}"));
            Assert.That(usage, Does.Contain($"[default: {definition.Format(defaults)}]"));
        }

        Assert.That(usage, Does.Contain("--config FILE"));
    }

    [TestCaseSource(nameof(s_flags))]
    public void DefaultAsFormatted_ParsesBackToTheDefault(string flag, string value, Delegate read, object expected)
    {
        OptionDefinition definition = OptionTable.FindByName(flag[2..])!;
        var defaults = new ServerOptions();
        if (definition.IsList)
        {
            Assert.Pass("A repeatable option's default is the empty list, shown as 'none'.");
        }

        if (definition.Format(defaults).Length == 0)
        {
            Assert.Pass("No default (a file not configured): nothing to parse back.");
        }

        CommandLineResult result = CommandLine.Parse([flag, definition.Format(defaults)]);

        Assert.That(result.Error, Is.Null);
        Assert.That(Get(read, result.Options!), Is.EqualTo(Get(read, defaults)));
    }

    // Rows carry the reader as a Delegate: ServerOptions is internal, and public test methods cannot name it.
    private static Func<ServerOptions, object> Read<T>(Func<ServerOptions, T> read) => o => read(o)!;

    private static object Get(Delegate read, ServerOptions options) => ((Func<ServerOptions, object>)read)(options);
}
