using System.Net;
using System.Net.Sockets;
using Broker.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Tests.Server;

[TestFixture]
public sealed class BrokerHostTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "broker-host-tests-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test, CancelAfter(20_000)]
    public async Task StartAsync_BindsTheListener_AndCreatesTheDataDirectory(CancellationToken cancellationToken)
    {
        ServerOptions options = LocalOptions();
        options.MqttTcp.MaxConnections = 321;
        await using var host = new BrokerHost(options, NullLoggerFactory.Instance);

        await host.StartAsync(cancellationToken);

        var bound = (IPEndPoint)host.MqttListener.EndPoint;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(bound.Port, Is.Not.Zero);
            Assert.That(host.Listeners, Is.EqualTo(new object[] { host.MqttListener, host.WsListener! }), "TCP and WebSocket by default; SSL and WSS need a certificate");
            Assert.That(host.SslListener, Is.Null);
            Assert.That(host.WssListener, Is.Null);
            Assert.That(host.MqttListener.Name, Is.EqualTo($"mqtt:tcp:127.0.0.1:{bound.Port}"));
            Assert.That(host.MqttListener.MaxConnections, Is.EqualTo(321));
            Assert.That(Directory.Exists(Path.Combine(_directory, "data")), Is.True);
            Assert.That(host.Broker.Options, Is.SameAs(options.Broker));
        }

        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(bound, cancellationToken);
    }

    [Test, CancelAfter(20_000)]
    public async Task StopAsync_StopsAccepting_AndReleasesThePort(CancellationToken cancellationToken)
    {
        await using var host = new BrokerHost(LocalOptions(), NullLoggerFactory.Instance);
        await host.StartAsync(cancellationToken);
        var bound = (IPEndPoint)host.MqttListener.EndPoint;

        await host.StopAsync(cancellationToken);

        Assert.That(host.MqttListener.IsListening, Is.False);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(bound);
    }

    [Test, CancelAfter(20_000)]
    public async Task StartAsync_PortInUse_Throws_AndLeavesNothingListening(CancellationToken cancellationToken)
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        ServerOptions options = LocalOptions();
        options.MqttPort = ((IPEndPoint)occupant.LocalEndpoint).Port;
        await using var host = new BrokerHost(options, NullLoggerFactory.Instance);

        Assert.ThrowsAsync<SocketException>(() => host.StartAsync(cancellationToken));
        Assert.That(host.MqttListener.IsListening, Is.False);
    }

    [Test, CancelAfter(20_000)]
    public async Task StartAsync_AsksTheKernelForTheEventLoopSlice_OnEverySocketEventLoopThread(CancellationToken cancellationToken)
    {
        // What the kernel reports for each thread in /proc (se.slice, Linux 6.12+), not what the host thinks it did.
        if (!OperatingSystem.IsLinux() || !File.ReadAllText("/proc/self/sched").Contains("se.slice", StringComparison.Ordinal) || Environment.OSVersion.Version < new Version(6, 12))
        {
            Assert.Ignore("Per-thread scheduling slices need Linux 6.12 or later.");
        }

        ServerOptions options = LocalOptions();
        options.EventLoopSliceMicroseconds = 250;
        await using var host = new BrokerHost(options, NullLoggerFactory.Instance);

        await host.StartAsync(cancellationToken);

        Dictionary<int, long> slices = SliceByThread(".NET Sockets");
        Assert.That(slices, Is.Not.Empty, "the runtime's socket event loops exist once a listener runs");
        Assert.That(slices.Values, Is.All.EqualTo(250_000), "nanoseconds, per event-loop thread");
        Assert.That(SliceByThread(".NET Finalizer").Values, Is.All.Not.EqualTo(250_000), "other threads keep the kernel's default");
    }

    private static Dictionary<int, long> SliceByThread(string threadName)
    {
        var slices = new Dictionary<int, long>();
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') != threadName)
            {
                continue;
            }

            string line = File.ReadLines(Path.Combine(task, "sched")).First(l => l.StartsWith("se.slice", StringComparison.Ordinal));
            slices[int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture)] = long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return slices;
    }

    private ServerOptions LocalOptions()
    {
        var options = new ServerOptions { Bind = IPAddress.Loopback, MqttPort = 0, WsPort = 0, DataDirectory = Path.Combine(_directory, "data") };
        options.MqttTcp.Acceptors = 1;
        options.MqttWs.Acceptors = 1;
        options.Api.Address = IPAddress.Loopback;
        options.Api.Port = 0;
        return options;
    }
}
