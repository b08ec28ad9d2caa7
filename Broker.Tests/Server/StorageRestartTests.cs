using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Broker.Tests.EndToEnd;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.Server;

/// <summary>
/// The standalone broker as a separate process on its data directory, killed with SIGKILL and started again: what it
/// acknowledged (API code 0, PUBACK for a message queued to a persistent session) is there after the restart.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class StorageRestartTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "broker-restart-tests-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task KillNine_ThenRestart_RestoresApiStateRetainedAndTheQueuedMessagesOfAPersistentSession(CancellationToken cancellationToken)
    {
        string data = Path.Combine(_directory, "data");
        const int Queued = 5;
        await using (BrokerProcess first = await BrokerProcess.StartAsync(data, cancellationToken))
        {
            Assert.That(await first.ApiAsync(HttpMethod.Post, "/api/v4/auth_username", """{"username":"alice","password":"secret"}""", cancellationToken), Is.Zero);
            Assert.That(await first.ApiAsync(HttpMethod.Post, "/api/v4/acl", """{"username":"alice","topic":"deny/#","action":"pub","access":"deny"}""", cancellationToken), Is.Zero);
            Assert.That(await first.ApiAsync(HttpMethod.Post, "/api/v4/banned", """{"who":"bad-client","as":"clientid","reason":"spam"}""", cancellationToken), Is.Zero);
            Assert.That(await first.ApiAsync(HttpMethod.Post, "/api/v4/apps", """{"app_id":"ops","name":"Ops","secret":"ops-secret"}""", cancellationToken), Is.Zero);
            Assert.That(await first.ApiAsync(HttpMethod.Post, "/api/v4/resources", """{"type":"web_hook","config":{"url":"http://127.0.0.1:9/hook"},"description":"kept-resource"}""", cancellationToken), Is.Zero);
            Assert.That(await first.ApiAsync(HttpMethod.Post, "/api/v4/rules", """{"rawsql":"SELECT payload FROM \"kept/#\"","actions":[{"name":"do_nothing","params":{}}],"description":"kept-rule"}""", cancellationToken), Is.Zero);

            // A persistent session subscribes and goes away; its QoS 1 messages are published while it is offline.
            using (NetClient subscriber = await NetClient.ConnectAsync(first.MqttPort, "keeper", MqttProtocolVersion.V500, cancellationToken,
                o => o.WithCleanStart(false).WithSessionExpiryInterval(3600)))
            {
                await subscriber.SubscribeAsync("queue/t", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
                await subscriber.Client.DisconnectAsync(cancellationToken: cancellationToken);
            }

            using NetClient publisher = await NetClient.ConnectAsync(first.MqttPort, "publisher", MqttProtocolVersion.V311, cancellationToken);
            await publisher.PublishAsync("retained/t", "kept", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken, retain: true);
            for (int i = 0; i < Queued; i++)
            {
                // PublishAsync asserts the PUBACK: each of these was acknowledged before the kill.
                await publisher.PublishAsync("queue/t", "m" + i, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            }

            first.Kill();
        }

        await using BrokerProcess second = await BrokerProcess.StartAsync(data, cancellationToken);
        JsonElement users = await second.GetDataAsync("/api/v4/auth_username", cancellationToken);
        Assert.That(users.GetRawText(), Does.Contain("alice"));
        JsonElement acl = await second.GetDataAsync("/api/v4/acl/username/alice", cancellationToken);
        Assert.That(acl.GetRawText(), Does.Contain("deny/#"));
        JsonElement bans = await second.GetDataAsync("/api/v4/banned", cancellationToken);
        Assert.That(bans.GetRawText(), Does.Contain("bad-client"));
        JsonElement rules = await second.GetDataAsync("/api/v4/rules", cancellationToken);
        Assert.That(rules.GetRawText(), Does.Contain("kept-rule").And.Contain("SELECT payload FROM"));
        JsonElement resources = await second.GetDataAsync("/api/v4/resources", cancellationToken);
        Assert.That(resources.GetRawText(), Does.Contain("kept-resource"));
        using (var ops = new HttpClient { BaseAddress = second.ApiBase })
        {
            ops.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("ops:ops-secret"u8.ToArray()));
            using HttpResponseMessage response = await ops.GetAsync("/api/v4/apps", cancellationToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the app created before the kill authenticates");
        }

        using NetClient reader = await NetClient.ConnectAsync(second.MqttPort, "reader", MqttProtocolVersion.V500, cancellationToken);
        await reader.SubscribeAsync("retained/t", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        ReceivedMessage retained = await reader.ReceiveAsync(cancellationToken);
        Assert.That((retained.PayloadText, retained.Retain), Is.EqualTo(("kept", true)));

        using NetClient keeper = await NetClient.ConnectAsync(second.MqttPort, "keeper", MqttProtocolVersion.V500, cancellationToken,
            o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
        Assert.That(keeper.ConnectResult.IsSessionPresent, Is.True);
        var received = new List<string>();
        for (int i = 0; i < Queued; i++)
        {
            received.Add((await keeper.ReceiveAsync(cancellationToken)).PayloadText);
        }

        Assert.That(received, Is.EqualTo(Enumerable.Range(0, Queued).Select(i => "m" + i)));

        // The subscription came back too, and nothing else was queued: the next message is the one published now.
        using NetClient publisher2 = await NetClient.ConnectAsync(second.MqttPort, "publisher", MqttProtocolVersion.V311, cancellationToken);
        await publisher2.PublishAsync("queue/t", "after", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        Assert.That((await keeper.ReceiveAsync(cancellationToken)).PayloadText, Is.EqualTo("after"));
    }

    [Test, CancelAfter(120_000)]
    public async Task CorruptDatabase_FailsTheStart_WithOneLineNamingTheFile_AndExitCodeOne(CancellationToken cancellationToken)
    {
        string data = Path.Combine(_directory, "data");
        Directory.CreateDirectory(data);
        string file = Path.Combine(data, "broker.db");
        byte[] garbage = new byte[8192];
        new Random(42).NextBytes(garbage);
        await File.WriteAllBytesAsync(file, garbage, cancellationToken);

        (int exitCode, string output) = await BrokerProcess.RunToExitAsync(data, cancellationToken);

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(output, Does.Contain("Cannot use the database " + file).And.Contain("not a database"));
        Assert.That(await File.ReadAllBytesAsync(file, cancellationToken), Is.EqualTo(garbage), "the file is left as it was");
    }

    /// <summary>Broker.Server started with <c>dotnet Broker.Server.dll</c> on free ports of 127.0.0.1.</summary>
    private sealed class BrokerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private BrokerProcess(Process process, int mqttPort, int apiPort)
        {
            _process = process;
            MqttPort = mqttPort;
            ApiBase = new Uri("http://127.0.0.1:" + apiPort + "/");
            Http = new HttpClient { BaseAddress = ApiBase, Timeout = TimeSpan.FromSeconds(30) };
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:public"u8.ToArray()));
        }

        public int MqttPort { get; }

        public Uri ApiBase { get; }

        public HttpClient Http { get; }

        public static async Task<BrokerProcess> StartAsync(string data, CancellationToken cancellationToken)
        {
            int mqttPort = FreePort();
            int apiPort = FreePort();
            Process process = Launch(data, mqttPort, apiPort);
            var broker = new BrokerProcess(process, mqttPort, apiPort);
            process.OutputDataReceived += (_, e) => broker.Append(e.Data);
            process.ErrorDataReceived += (_, e) => broker.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                // Ready once it logs that it started (everything restored, every listener up), then both answer. Nothing
                // connects before that line: .NET's HttpListener on Linux can crash on a client connecting while it
                // starts (dotnet/corefx#35191).
                while (true)
                {
                    if (process.HasExited)
                    {
                        Assert.Fail("The broker exited with " + process.ExitCode + ": " + broker.Output);
                    }

                    if (!broker.Output.Contains(" started; listeners: ", StringComparison.Ordinal))
                    {
                        await Task.Delay(50, cancellationToken);
                        continue;
                    }

                    try
                    {
                        using HttpResponseMessage status = await broker.Http.GetAsync("/status", cancellationToken);
                        using var probe = new TcpClient();
                        await probe.ConnectAsync(IPAddress.Loopback, mqttPort, cancellationToken);
                        return broker;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or SocketException)
                    {
                        await Task.Delay(50, cancellationToken);
                    }
                }
            }
            catch
            {
                await broker.DisposeAsync();
                throw;
            }
        }

        public static async Task<(int ExitCode, string Output)> RunToExitAsync(string data, CancellationToken cancellationToken)
        {
            using Process process = Launch(data, FreePort(), FreePort());
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            return (process.ExitCode, await stdout + await stderr);
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>SIGKILL: no flush, no goodbye.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        /// <summary>Sends a request and returns the envelope's <c>code</c>.</summary>
        public async Task<int> ApiAsync(HttpMethod method, string path, string body, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using HttpResponseMessage response = await Http.SendAsync(request, cancellationToken);
            string text = await response.Content.ReadAsStringAsync(cancellationToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path + ": " + text);
            using var document = JsonDocument.Parse(text);
            return document.RootElement.GetProperty("code").GetInt32();
        }

        public async Task<JsonElement> GetDataAsync(string path, CancellationToken cancellationToken)
        {
            string text = await Http.GetStringAsync(path, cancellationToken);
            using var document = JsonDocument.Parse(text);
            Assert.That(document.RootElement.GetProperty("code").GetInt32(), Is.Zero, path);
            return document.RootElement.GetProperty("data").Clone();
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }

        private static Process Launch(string data, int mqttPort, int apiPort)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in (string[])[ServerDll(), "--bind", "127.0.0.1", "--mqtt-port", mqttPort.ToString(), "--api-bind", "127.0.0.1",
                "--api-port", apiPort.ToString(), "--ws-port", "0", "--data-dir", data])
            {
                start.ArgumentList.Add(arg);
            }

            return Process.Start(start)!;
        }

        /// <summary>Broker.Server's own build output (with its deps.json, so the native SQLite library resolves).</summary>
        private static string ServerDll()
        {
            string tests = AppContext.BaseDirectory;
            string sibling = tests.Replace(
                Path.DirectorySeparatorChar + "Broker.Tests" + Path.DirectorySeparatorChar,
                Path.DirectorySeparatorChar + "Broker.Server" + Path.DirectorySeparatorChar,
                StringComparison.Ordinal);
            string dll = Path.Combine(sibling, "Broker.Server.dll");
            return File.Exists(dll) ? dll : Path.Combine(tests, "Broker.Server.dll");
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
