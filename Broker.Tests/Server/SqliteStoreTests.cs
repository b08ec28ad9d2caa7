using System.Net;
using System.Text;
using Broker.Server;
using Broker.Server.Storage;
using Broker.Tests.EndToEnd;
using Broker.Tests.Http;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.Server;

[TestFixture]
public sealed class SqliteStoreTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "broker-store-tests-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    // The generic table the rule engine (and other JSON-shaped state) persists through.
    [Test, CancelAfter(30_000)]
    public async Task Documents_SaveDeleteAndLoad_SurviveReopening()
    {
        await using (SqliteStore store = SqliteStore.Open(_directory, NullLogger.Instance))
        {
            await store.SaveDocumentAsync("rule", "r1", """{"sql":"SELECT * FROM \"t\""}"""u8.ToArray());
            await store.SaveDocumentAsync("rule", "r2", """{"sql":"old"}"""u8.ToArray());
            await store.SaveDocumentAsync("rule", "r2", """{"sql":"new"}"""u8.ToArray());
            await store.SaveDocumentAsync("resource", "r1", """{"type":"web_hook"}"""u8.ToArray());
            await store.SaveDocumentAsync("rule", "gone", "{}"u8.ToArray());
            await store.DeleteDocumentAsync("rule", "gone");
        }

        await using SqliteStore reopened = SqliteStore.Open(_directory, NullLogger.Instance);
        IReadOnlyList<(string Id, byte[] Json)> rules = reopened.LoadDocuments("rule");
        Assert.That(rules.Select(r => (r.Id, Encoding.UTF8.GetString(r.Json))), Is.EqualTo(new[]
        {
            ("r1", """{"sql":"SELECT * FROM \"t\""}"""),
            ("r2", """{"sql":"new"}"""),
        }));
        Assert.That(reopened.LoadDocuments("resource").Single().Id, Is.EqualTo("r1"));
        Assert.That(reopened.LoadDocuments("channel_user"), Is.Empty);
    }

    [Test, CancelAfter(30_000)]
    public void Open_AFileThatIsNotADatabase_ThrowsNamingTheFile()
    {
        Directory.CreateDirectory(_directory);
        string file = Path.Combine(_directory, SqliteStore.FileName);
        File.WriteAllText(file, new string('x', 10_000));

        StorageException error = Assert.Throws<StorageException>(() => SqliteStore.Open(_directory, NullLogger.Instance).Dispose())!;

        Assert.That(error.FilePath, Is.EqualTo(file));
        Assert.That(error.Message, Does.StartWith(file + ": ").And.Contain("not a database"));
    }

    [Test, CancelAfter(60_000)]
    public async Task Run_WithACorruptDatabase_ExitsOne_WithoutListening(CancellationToken cancellationToken)
    {
        string data = Path.Combine(_directory, "data");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, SqliteStore.FileName), Enumerable.Repeat((byte)0xA5, 8192).ToArray());
        bool started = false;

        int exitCode = await ServerCommand.RunAsync(
            ["--bind", "127.0.0.1", "--mqtt-port", "0", "--api-port", "0", "--data-dir", data], TextWriter.Null, TextWriter.Null, cancellationToken,
            NullLoggerFactory.Instance, _ => started = true);

        Assert.That((exitCode, started), Is.EqualTo((ServerCommand.StartFailedExitCode, false)));
    }

    // Retained messages, and a 3.1.1 Clean Session 0 session with its subscription and queued messages, across a graceful restart.
    [Test, CancelAfter(60_000)]
    public async Task GracefulRestart_RestoresRetainedAndAPersistentSessionsQueue(CancellationToken cancellationToken)
    {
        string data = Path.Combine(_directory, "data");
        await using (ServerApi first = await ServerApi.StartAsync(o => o.DataDirectory = data, cancellationToken))
        {
            using NetClient keeper = await NetClient.ConnectAsync(first.MqttPort, "keeper", MqttProtocolVersion.V311, cancellationToken, o => o.WithCleanSession(false));
            await keeper.SubscribeAsync("q/#", MqttQualityOfServiceLevel.ExactlyOnce, cancellationToken);
            await keeper.Client.DisconnectAsync(cancellationToken: cancellationToken);

            NetClient publisher = await first.ConnectAsync("pub", cancellationToken);
            await publisher.PublishAsync("q/1", "one", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            await publisher.PublishAsync("q/2", "two", MqttQualityOfServiceLevel.ExactlyOnce, cancellationToken);
            await publisher.PublishAsync("q/0", "zero", MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);
            await publisher.PublishAsync("r/1", "kept", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, retain: true);
            await publisher.PublishAsync("r/2", "kept", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, retain: true);
            await publisher.PublishAsync("r/2", "", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, retain: true);
        }

        await using ServerApi second = await ServerApi.StartAsync(o => o.DataDirectory = data, cancellationToken);
        using NetClient back = await NetClient.ConnectAsync(second.MqttPort, "keeper", MqttProtocolVersion.V311, cancellationToken, o => o.WithCleanSession(false));
        Assert.That(back.ConnectResult.IsSessionPresent, Is.True);
        ReceivedMessage one = await back.ReceiveAsync(cancellationToken);
        ReceivedMessage two = await back.ReceiveAsync(cancellationToken);
        Assert.That((one.Topic, one.PayloadText, one.QoS), Is.EqualTo(("q/1", "one", MqttQualityOfServiceLevel.AtLeastOnce)));
        Assert.That((two.Topic, two.PayloadText, two.QoS), Is.EqualTo(("q/2", "two", MqttQualityOfServiceLevel.ExactlyOnce)));

        // QoS 0 is not persisted: after the restart the next message is a live one.
        NetClient publisher2 = await second.ConnectAsync("pub", cancellationToken);
        await publisher2.PublishAsync("q/3", "three", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        Assert.That((await back.ReceiveAsync(cancellationToken)).PayloadText, Is.EqualTo("three"));

        NetClient reader = await second.ConnectAsync("reader", cancellationToken);
        await reader.SubscribeAsync("r/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        ReceivedMessage retained = await reader.ReceiveAsync(cancellationToken);
        Assert.That((retained.Topic, retained.PayloadText, retained.Retain), Is.EqualTo(("r/1", "kept", true)));
        Assert.That(second.Host.Broker.Retained.Count, Is.EqualTo(1), "the retained message deleted by an empty payload stays deleted");
    }

    // Clean sessions (all the benchmarks use them) never reach the database: no write, whatever the QoS.
    [Test, CancelAfter(60_000)]
    public async Task CleanSessionTraffic_WritesNothing_WhileAPersistentSessionsDoes(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(o => o.DataDirectory = Path.Combine(_directory, "data"), cancellationToken);
        SqliteStore store = server.Host.Store;
        await store.FlushAsync();
        long before = store.CommittedWrites;

        NetClient subscriber = await server.ConnectAsync("clean-sub", cancellationToken);
        await subscriber.SubscribeAsync("t/#", MqttQualityOfServiceLevel.ExactlyOnce, cancellationToken);
        NetClient publisher = await server.ConnectAsync("clean-pub", cancellationToken, MqttProtocolVersion.V311);
        for (int i = 0; i < 20; i++)
        {
            await publisher.PublishAsync("t/" + i, "x", (MqttQualityOfServiceLevel)(i % 3), cancellationToken);
            Assert.That((await subscriber.ReceiveAsync(cancellationToken)).Topic, Is.EqualTo("t/" + i));
        }

        await subscriber.Client.DisconnectAsync(cancellationToken: cancellationToken);
        await store.FlushAsync();
        Assert.That(store.CommittedWrites, Is.EqualTo(before));

        // The same traffic to a persistent session is written (the control that the count above can move).
        using NetClient keeper = await NetClient.ConnectAsync(server.MqttPort, "keeper", MqttProtocolVersion.V500, cancellationToken,
            o => o.WithCleanStart(false).WithSessionExpiryInterval(60));
        await keeper.SubscribeAsync("t/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await publisher.PublishAsync("t/x", "x", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        await keeper.ReceiveAsync(cancellationToken);
        await store.FlushAsync();
        Assert.That(store.CommittedWrites, Is.GreaterThan(before));
        Assert.That(DatabaseDumpSessions(server), Does.Contain("keeper").And.Not.Contain("clean-sub"));
    }

    // A security.json or apps.json from an earlier version is imported once and renamed.
    [Test, CancelAfter(60_000)]
    public async Task LegacyJsonFiles_AreImportedOnce_AndRenamed(CancellationToken cancellationToken)
    {
        string data = Path.Combine(_directory, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "security.json"), """
            {"users":[],"acl":[{"target":"All","who":"$all","topic":"legacy/#","action":"Publish","access":"Deny","created_at":1}],
             "banned":[{"as":"ClientId","who":"old-ban","reason":"r","by":"api","at":1,"until":4102444800}]}
            """);
        var options = new ServerOptions { Bind = IPAddress.Loopback, MqttPort = 0, DataDirectory = data };
        await using (var host = new BrokerHost(options, NullLoggerFactory.Instance))
        {
            Assert.That(host.Broker.Acl.ListAll().Single().Topic, Is.EqualTo("legacy/#"));
        }

        Assert.That(File.Exists(Path.Combine(data, "security.json")), Is.False);
        Assert.That(File.Exists(Path.Combine(data, "security.json.imported")), Is.True);
        await using var again = new BrokerHost(new ServerOptions { Bind = IPAddress.Loopback, MqttPort = 0, DataDirectory = data }, NullLoggerFactory.Instance);
        Assert.That(again.Broker.Banned.Count, Is.EqualTo(1));
        Assert.That(again.Broker.Acl.ListAll().Single().Topic, Is.EqualTo("legacy/#"));
    }

    private static string DatabaseDumpSessions(ServerApi server)
        => TestSupport.DatabaseDump.Values(server.Host.DataDirectory, "sessions", "subscriptions");
}
