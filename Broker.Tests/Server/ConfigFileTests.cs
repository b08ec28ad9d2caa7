using System.Net;
using Broker.Core.Configuration;
using Broker.Server;

namespace Broker.Tests.Server;

[TestFixture]
public sealed class ConfigFileTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "broker-config-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void ConfigFile_SetsOptions_ByTheirSnakeCaseNames()
    {
        string path = Write("""
            {
              // Comments and trailing commas are fine.
              "node_name": "edge@10.0.0.2",
              "mqtt_port": 2883,
              "bind": "127.0.0.1",
              "max_inflight": 64,
              "allow_anonymous": false,
              "session_expiry_interval": "600",
              "shared_subscription_strategy": "round_robin",
            }
            """);

        CommandLineResult result = CommandLine.Parse(["--config", path]);

        Assert.That(result.Error, Is.Null);
        ServerOptions options = result.Options!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.Broker.NodeName, Is.EqualTo("edge@10.0.0.2"));
            Assert.That(options.MqttTcp.EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 2883)));
            Assert.That(options.Broker.MaximumInflight, Is.EqualTo(64));
            Assert.That(options.Broker.AllowAnonymous, Is.False);
            Assert.That(options.Broker.SessionExpiryInterval, Is.EqualTo(TimeSpan.FromMinutes(10)));
            Assert.That(options.Broker.SharedSubscriptionStrategy, Is.EqualTo(SharedSubscriptionStrategy.RoundRobin));
            Assert.That(result.ConfigFile, Is.EqualTo(path));
        }
    }

    [Test]
    public void Flags_OverrideTheConfigFile_WhereverConfigAppears()
    {
        string path = Write("""{"max_inflight": 64, "max_mqueue_len": 10}""");

        ServerOptions before = CommandLine.Parse(["--max-inflight", "8", "--config", path]).Options!;
        ServerOptions after = CommandLine.Parse(["--config", path, "--max-inflight", "8"]).Options!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before.Broker.MaximumInflight, Is.EqualTo(8));
            Assert.That(after.Broker.MaximumInflight, Is.EqualTo(8));
            Assert.That(after.Broker.MaximumQueueLength, Is.EqualTo(10), "keys not on the command line keep the file's value");
        }
    }

    [Test]
    public void UnknownKey_NamesTheKeyAndTheFile()
    {
        string path = Write("""{"max_inflight": 64, "frobnicate": 1}""");

        string? error = CommandLine.Parse(["--config", path]).Error;

        Assert.That(error, Does.Contain("'frobnicate'").And.Contain(path));
    }

    [Test]
    public void KebabCaseKey_IsRejected_WithTheSnakeCaseHint()
    {
        string path = Write("""{"max-inflight": 64}""");

        string? error = CommandLine.Parse(["--config", path]).Error;

        Assert.That(error, Does.Contain("'max-inflight'").And.Contain("'max_inflight'"));
    }

    [TestCase("""{"max_inflight": 0}""", "'max_inflight'", TestName = "Out of range in the file")]
    [TestCase("""{"max_inflight": 1.5}""", "'max_inflight'", TestName = "Not an integer in the file")]
    [TestCase("""{"allow_anonymous": "maybe"}""", "'allow_anonymous'", TestName = "Not a boolean in the file")]
    [TestCase("""{"bind": ["127.0.0.1"]}""", "'bind'", TestName = "An array value")]
    [TestCase("""{"node_name": null}""", "'node_name'", TestName = "A null value")]
    [TestCase("""[1, 2]""", "expected a JSON object", TestName = "Root is not an object")]
    [TestCase("""{"max_inflight": """, "not valid JSON", TestName = "Truncated JSON")]
    public void InvalidFile_IsAOneLineErrorNamingTheKey(string json, string named)
    {
        string path = Write(json);

        CommandLineResult result = CommandLine.Parse(["--config", path]);

        Assert.That(result.Action, Is.EqualTo(CommandLineAction.Error));
        Assert.That(result.Error, Does.Contain(named).And.Contain(path));
        Assert.That(result.Error, Does.Not.Contain("\n"));
    }

    [Test]
    public void MissingFile_NamesTheConfigFlag()
    {
        string path = Path.Combine(_directory, "absent.json");

        string? error = CommandLine.Parse(["--config", path]).Error;

        Assert.That(error, Does.StartWith("option --config").And.Contain(path));
    }

    [Test]
    public void UnknownFlag_IsReportedBeforeTheFileIsRead()
    {
        string? error = CommandLine.Parse(["--config", Path.Combine(_directory, "absent.json"), "--nope", "1"]).Error;

        Assert.That(error, Does.Contain("'--nope'"));
    }

    private string Write(string json)
    {
        string path = Path.Combine(_directory, "broker.json");
        File.WriteAllText(path, json);
        return path;
    }
}
