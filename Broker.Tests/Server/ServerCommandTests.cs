using System.Net;
using System.Net.Sockets;
using Broker.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Tests.Server;

[TestFixture]
public sealed class ServerCommandTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "broker-command-tests-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test, CancelAfter(20_000)]
    public async Task Help_PrintsUsage_AndExitsZero(CancellationToken cancellationToken)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exitCode = await ServerCommand.RunAsync(["--help"], output, error, cancellationToken, NullLoggerFactory.Instance);

        Assert.That(exitCode, Is.Zero);
        Assert.That(output.ToString(), Does.StartWith("Usage:").And.Contain("--mqtt-port PORT"));
        Assert.That(error.ToString(), Is.Empty);
    }

    [Test, CancelAfter(20_000)]
    public async Task Version_PrintsTheVersion_AndExitsZero(CancellationToken cancellationToken)
    {
        using var output = new StringWriter();

        int exitCode = await ServerCommand.RunAsync(["--version"], output, TextWriter.Null, cancellationToken, NullLoggerFactory.Instance);

        Assert.That(exitCode, Is.Zero);
        Assert.That(output.ToString(), Does.StartWith("0.1.0"));
    }

    [TestCase("--mqtt-port", "abc")]
    [TestCase("--max-inflight", "0")]
    [TestCase("--no-such-flag", "1")]
    public async Task InvalidCommandLine_PrintsOneErrorLine_AndExitsTwo_WithoutStarting(string flag, string value)
    {
        using var error = new StringWriter();
        bool started = false;

        int exitCode = await ServerCommand.RunAsync(
            [flag, value, "--data-dir", Path.Combine(_directory, "data")], TextWriter.Null, error, CancellationToken.None, NullLoggerFactory.Instance, _ => started = true);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(error.ToString(), Does.StartWith("error: ").And.Contain(flag));
            Assert.That(error.ToString().TrimEnd().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(started, Is.False);
            Assert.That(Directory.Exists(_directory), Is.False, "nothing is created before the command line is valid");
        }
    }

    [Test, CancelAfter(20_000)]
    public async Task Run_StartsOnAFreePort_AndStopsCleanlyOnTheShutdownSignal(CancellationToken cancellationToken)
    {
        using var shutdown = new CancellationTokenSource();
        IPEndPoint? bound = null;

        int exitCode = await ServerCommand.RunAsync(
            ["--bind", "127.0.0.1", "--mqtt-port", "0", "--ws-port", "0", "--api-bind", "127.0.0.1", "--api-port", "0", "--data-dir", Path.Combine(_directory, "data"), "--shutdown-timeout", "2"],
            TextWriter.Null,
            TextWriter.Null,
            shutdown.Token,
            NullLoggerFactory.Instance,
            host =>
            {
                bound = (IPEndPoint)host.MqttListener.EndPoint;
                shutdown.Cancel();
            }).WaitAsync(cancellationToken);

        Assert.That(exitCode, Is.Zero);
        Assert.That(bound!.Port, Is.Not.Zero);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(bound);
    }

    [Test, CancelAfter(20_000)]
    public async Task Run_PortInUse_ExitsOne(CancellationToken cancellationToken)
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        string port = ((IPEndPoint)occupant.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        int exitCode = await ServerCommand.RunAsync(
            ["--bind", "127.0.0.1", "--mqtt-port", port, "--ws-port", "0", "--api", "false", "--data-dir", Path.Combine(_directory, "data")],
            TextWriter.Null,
            TextWriter.Null,
            cancellationToken,
            NullLoggerFactory.Instance);

        Assert.That(exitCode, Is.EqualTo(1));
    }
}
