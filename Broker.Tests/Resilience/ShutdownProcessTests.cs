using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.EndToEnd;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Resilience;

/// <summary>
/// SIGTERM to a real broker process (<c>dotnet Broker.Server.dll</c>): it stops accepting, writes what it had queued
/// for each client, sends v5 clients DISCONNECT 0x8B Server shutting down, and exits 0 within the shutdown timeout.
/// </summary>
[TestFixture]
[Platform(Exclude = "Win")]
[NonParallelizable]
public sealed partial class ShutdownProcessTests
{
    private const int Messages = 400;

    [Test, CancelAfter(90_000)]
    public async Task Sigterm_FlushesQueuedOutput_SendsDisconnect8B_AndExitsZero(CancellationToken cancellationToken)
    {
        string dataDir = Path.Combine(Path.GetTempPath(), "broker-sigterm-" + Guid.NewGuid().ToString("N"));
        using Process broker = StartBroker(dataDir, out Task<int> mqttPort);
        try
        {
            int port = await mqttPort.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

            // A v5 subscriber that will not read until the broker is told to stop, and a 3.1.1 bystander.
            using Socket subscriber = await ConnectAsync(port, "sub", ProtocolVersion.V500, cancellationToken);
            await SendAsync(subscriber, new SubscribePacket { PacketIdentifier = 1, Subscriptions = [new TopicSubscription("t", QualityOfService.AtMostOnce)] }, ProtocolVersion.V500, cancellationToken);
            object? suback = await ReadOneAsync(subscriber, ProtocolVersion.V500, cancellationToken);
            Assert.That(suback, Is.InstanceOf<SubAckPacket>());
            using Socket bystander = await ConnectAsync(port, "v311", ProtocolVersion.V311, cancellationToken);

            // QoS 0, 1 KB each: routed to the subscriber's output at once; a QoS 1 marker after them tells, by its
            // PUBACK, that all of them were routed.
            using Socket publisher = await ConnectAsync(port, "pub", ProtocolVersion.V500, cancellationToken);
            byte[] payload = new byte[1024];
            var batch = new ArrayBufferWriter<byte>();
            for (int i = 0; i < Messages; i++)
            {
                BitConverter.TryWriteBytes(payload, i);
                batch.Write(CodecDriver.Encode(new PublishModel { TopicName = "t"u8.ToArray(), Payload = payload, QoS = QualityOfService.AtMostOnce, Properties = [] }, ProtocolVersion.V500));
            }

            batch.Write(CodecDriver.Encode(new PublishModel { TopicName = "marker"u8.ToArray(), Payload = [], QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 7, Properties = [] }, ProtocolVersion.V500));
            await publisher.SendAsync(batch.WrittenMemory, SocketFlags.None, cancellationToken);
            Assert.That(await ReadOneAsync(publisher, ProtocolVersion.V500, cancellationToken), Is.InstanceOf<PublishAckPacket>());

            var stopwatch = Stopwatch.StartNew();
            SendSigterm(broker.Id);

            List<object> received = await ReadUntilClosedAsync(subscriber, ProtocolVersion.V500, cancellationToken);
            await broker.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            stopwatch.Stop();

            using (Assert.EnterMultipleScope())
            {
                Assert.That(received.Count(p => p is PublishPacket), Is.EqualTo(Messages), "every message queued before the signal is written before the close");
                Assert.That(received[^1], Is.InstanceOf<DisconnectPacket>(), "the last packet is DISCONNECT");
                Assert.That((received[^1] as DisconnectPacket)?.ReasonCode, Is.EqualTo(ReasonCode.ServerShuttingDown), "0x8B");
                Assert.That(await RawMqtt.WaitClosedAsync(bystander, TimeSpan.FromSeconds(10), cancellationToken), Is.True, "3.1.1 clients are closed (no DISCONNECT in 3.1.1)");
                Assert.That(broker.ExitCode, Is.Zero);
                Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "exit is bounded by the shutdown timeout (5 s here) plus the abort allowance");
            }

            // Stopped accepting: the port is free again.
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Assert.That(() => probe.Bind(new IPEndPoint(IPAddress.Loopback, port)), Throws.Nothing);
        }
        finally
        {
            if (!broker.HasExited)
            {
                broker.Kill(entireProcessTree: true);
            }

            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Process StartBroker(string dataDir, out Task<int> mqttPort)
    {
        string dll = FindServerDll();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[dll, "--bind", "127.0.0.1", "--mqtt-port", "0", "--api-bind", "127.0.0.1", "--api-port", "0",
            "--ws-port", "0", "--data-dir", dataDir, "--shutdown-timeout", "5", "--log-level", "info"])
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && StartedLine().Match(line) is { Success: true } match)
            {
                port.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.Exited += (_, _) => port.TrySetException(new AssertionException("the broker exited before it started"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        mqttPort = port.Task;
        return process;
    }

    // The test assembly's folder holds Broker.Server.dll (a project reference); its runtimeconfig comes from its own build.
    private static string FindServerDll()
    {
        string here = AppContext.BaseDirectory;
        string own = Path.GetFullPath(Path.Combine(here, "..", "..", "..", "..", "Broker.Server", "bin",
            new DirectoryInfo(here).Parent!.Name, new DirectoryInfo(here).Name, "Broker.Server.dll"));
        if (File.Exists(own))
        {
            return own;
        }

        string copied = Path.Combine(here, "Broker.Server.dll");
        Assume.That(File.Exists(Path.ChangeExtension(copied, ".runtimeconfig.json")), Is.True, "Broker.Server is built");
        return copied;
    }

    private static void SendSigterm(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
        Assert.That(kill.ExitCode, Is.Zero, "kill -TERM");
    }

    private static async Task<Socket> ConnectAsync(int port, string clientId, ProtocolVersion version, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        await socket.SendAsync(RawMqtt.Connect(clientId, version), SocketFlags.None, cancellationToken);
        object? connack = await ReadOneAsync(socket, version, cancellationToken);
        Assert.That(connack, Is.InstanceOf<ConnAckPacket>());
        Assert.That(((ConnAckPacket)connack!).ReasonCode, Is.EqualTo(ReasonCode.Success));
        return socket;
    }

    private static Task<int> SendAsync(Socket socket, object packet, ProtocolVersion version, CancellationToken cancellationToken)
        => socket.SendAsync(CodecDriver.Encode(packet, version), SocketFlags.None, cancellationToken).AsTask();

    private static async Task<object?> ReadOneAsync(Socket socket, ProtocolVersion version, CancellationToken cancellationToken)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        return await RawMqtt.ReadPacketAsync(stream, version, cancellationToken);
    }

    private static async Task<List<object>> ReadUntilClosedAsync(Socket socket, ProtocolVersion version, CancellationToken cancellationToken)
    {
        var all = new ArrayBufferWriter<byte>();
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(all.GetMemory(64 * 1024), SocketFlags.None, cancellationToken);
            }
            catch (SocketException)
            {
                break;
            }

            if (read == 0)
            {
                break;
            }

            all.Advance(read);
        }

        return CodecDriver.DecodeAll(all.WrittenMemory.ToArray(), version);
    }

    [GeneratedRegex(@"listeners: mqtt:tcp:[^,;]*:(\d+)")]
    private static partial Regex StartedLine();
}
