using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Core;
using Broker.Tests.TestSupport;
using Broker.Transport.Connections;
using Broker.Transport.Tcp;

namespace Broker.Tests.Transport;

[TestFixture]
public sealed class SocketListenerTests
{
    private const int TimeoutMs = 20_000;

    [Test, CancelAfter(TimeoutMs)]
    public async Task Echo_BytesRoundTrip(CancellationToken cancellationToken)
    {
        await using SocketListener listener = await StartAsync(EchoAsync);
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        NetworkStream stream = client.GetStream();

        await stream.WriteAsync("hello"u8.ToArray(), cancellationToken);
        byte[] echoed = new byte[5];
        await stream.ReadExactlyAsync(echoed, cancellationToken);

        Assert.That(Encoding.ASCII.GetString(echoed), Is.EqualTo("hello"));
    }

    [Test]
    public async Task Figures_DescribeTheBoundListenerInEmqxForm()
    {
        await using SocketListener listener = await StartAsync(EchoAsync, o => { o.Acceptors = 3; o.MaxConnections = 77; });
        int port = ((IPEndPoint)listener.EndPoint).Port;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(port, Is.Not.Zero);
            Assert.That(listener.Protocol, Is.EqualTo("mqtt:tcp"));
            Assert.That(listener.ListenOn, Is.EqualTo($"127.0.0.1:{port}"));
            Assert.That(listener.Name, Is.EqualTo($"mqtt:tcp:127.0.0.1:{port}"));
            Assert.That(listener.Acceptors, Is.EqualTo(3));
            Assert.That(listener.MaxConnections, Is.EqualTo(77));
            Assert.That(listener.CurrentConnections, Is.Zero);
            Assert.That(listener.ShutdownCount.Snapshot(), Is.Empty);
            Assert.That(listener.IsListening, Is.True);
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task Handler_ReceivesConnectionInfo(CancellationToken cancellationToken)
    {
        var seen = new TaskCompletionSource<ConnectionInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using SocketListener listener = await StartAsync((pipe, info, ct) =>
        {
            seen.TrySetResult(info);
            return Task.CompletedTask;
        });
        using TcpClient client = await ConnectAsync(listener, cancellationToken);

        ConnectionInfo info = await seen.Task.WaitAsync(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(info.ListenerName, Is.EqualTo(listener.Name));
            Assert.That(info.ListenerProtocol, Is.EqualTo("mqtt:tcp"));
            Assert.That(info.LocalEndPoint, Is.EqualTo(listener.EndPoint));
            Assert.That(info.RemoteEndPoint, Is.EqualTo(client.Client.LocalEndPoint));
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task Echo_LargePayloadRoundTrips(CancellationToken cancellationToken)
    {
        // Larger than both pipes' pause thresholds, so back-pressure engages on the way in and out.
        byte[] payload = new byte[5 * 1024 * 1024 + 17];
        new Random(42).NextBytes(payload);
        await using SocketListener listener = await StartAsync(EchoAsync);
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        NetworkStream stream = client.GetStream();

        Task writing = stream.WriteAsync(payload, cancellationToken).AsTask();
        byte[] echoed = new byte[payload.Length];
        await stream.ReadExactlyAsync(echoed, cancellationToken);
        await writing;

        Assert.That(echoed.AsSpan().SequenceEqual(payload), Is.True);
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task Echo_BytesTrickledOneAtATime_ArriveWholeAndInOrder(CancellationToken cancellationToken)
    {
        // Each byte is its own TCP segment: the reader gets many one-byte receives, some chained across blocks.
        byte[] payload = new byte[600];
        new Random(7).NextBytes(payload);
        await using SocketListener listener = await StartAsync(EchoAsync);
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        NetworkStream stream = client.GetStream();

        Task reading = Task.Run(async () =>
        {
            byte[] echoed = new byte[payload.Length];
            await stream.ReadExactlyAsync(echoed, cancellationToken);
            return echoed;
        }, cancellationToken);
        for (int i = 0; i < payload.Length; i++)
        {
            await stream.WriteAsync(payload.AsMemory(i, 1), cancellationToken);
        }

        byte[] received = await (Task<byte[]>)reading;
        Assert.That(received, Is.EqualTo(payload));
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task Handler_ContiguousWriteLargerThanABlock_IsSentWhole(CancellationToken cancellationToken)
    {
        // An encoder asks for one span as large as its packet: far more than a 4 KiB pool block.
        byte[] payload = new byte[300_000];
        new Random(11).NextBytes(payload);
        await using SocketListener listener = await StartAsync(async (pipe, info, ct) =>
        {
            Span<byte> span = pipe.Output.GetSpan(payload.Length);
            payload.CopyTo(span);
            pipe.Output.Advance(payload.Length);
            pipe.Output.Write("end"u8);
            await pipe.Output.FlushAsync(ct);
            await pipe.Output.CompleteAsync();
            await pipe.Input.CompleteAsync();
        });
        using TcpClient client = await ConnectAsync(listener, cancellationToken);

        byte[] received = new byte[payload.Length + 3];
        await client.GetStream().ReadExactlyAsync(received, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(received.AsSpan(0, payload.Length).SequenceEqual(payload), Is.True);
            Assert.That(received.AsSpan(payload.Length).SequenceEqual("end"u8), Is.True);
            Assert.That(await ReadUntilClosedAsync(client, cancellationToken), Is.Zero, "FIN follows the last byte");
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task CancelPendingRead_EndsTheWaitingRead_AndLaterBytesAreReadNext(CancellationToken cancellationToken)
    {
        var results = new List<(bool Canceled, string Text)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = new TaskCompletionSource<IDuplexPipe>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using SocketListener listener = await StartAsync(async (pipe, info, ct) =>
        {
            ValueTask<ReadResult> read = pipe.Input.ReadAsync(ct);
            waiting.TrySetResult(pipe);
            ReadResult first = await read;
            results.Add((first.IsCanceled, Encoding.ASCII.GetString(first.Buffer)));
            pipe.Input.AdvanceTo(first.Buffer.End);
            ReadResult second = await pipe.Input.ReadAsync(ct);
            results.Add((second.IsCanceled, Encoding.ASCII.GetString(second.Buffer)));
            pipe.Input.AdvanceTo(second.Buffer.End);
            done.TrySetResult();
        });
        using TcpClient client = await ConnectAsync(listener, cancellationToken);

        IDuplexPipe serverSide = await waiting.Task.WaitAsync(cancellationToken);
        serverSide.Input.CancelPendingRead();
        await client.GetStream().WriteAsync("after"u8.ToArray(), cancellationToken);
        await done.Task.WaitAsync(cancellationToken);

        Assert.That(results, Is.EqualTo(new[] { (true, ""), (false, "after") }));
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task ManyConnections_AllRoundTrip_AndCountReturnsToZero(CancellationToken cancellationToken)
    {
        const int Count = 100;
        await using SocketListener listener = await StartAsync(EchoAsync);
        var clients = new TcpClient[Count];
        for (int i = 0; i < Count; i++)
        {
            clients[i] = await ConnectAsync(listener, cancellationToken);
        }

        var exchanges = new Task[Count];
        for (int i = 0; i < Count; i++)
        {
            exchanges[i] = RoundTripAsync(clients[i], $"client {i}", cancellationToken);
        }

        await Task.WhenAll(exchanges);
        await Poll.UntilAsync(() => listener.CurrentConnections == Count, cancellationToken);

        foreach (TcpClient client in clients)
        {
            client.Dispose();
        }

        await Poll.UntilAsync(() => listener.CurrentConnections == 0, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(listener.AcceptedConnections, Is.EqualTo(Count));
            Assert.That(listener.ShutdownCount.Total, Is.EqualTo(Count));
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task MaxConnections_RefusesExtraConnections(CancellationToken cancellationToken)
    {
        await using SocketListener listener = await StartAsync(EchoAsync, o => o.MaxConnections = 2);
        using TcpClient first = await ConnectAsync(listener, cancellationToken);
        using TcpClient second = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(first, "1", cancellationToken);
        await RoundTripAsync(second, "2", cancellationToken);

        using (TcpClient third = await ConnectAsync(listener, cancellationToken))
        {
            Assert.That(await ReadUntilClosedAsync(third, cancellationToken), Is.Zero, "the refused connection is closed without data");
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(listener.RefusedConnections, Is.EqualTo(1));
            Assert.That(listener.CurrentConnections, Is.EqualTo(2));
        }

        // A freed slot is usable again.
        first.Dispose();
        await Poll.UntilAsync(() => listener.CurrentConnections == 1, cancellationToken);
        using TcpClient fourth = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(fourth, "4", cancellationToken);
        Assert.That(listener.RefusedConnections, Is.EqualTo(1));
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task ClientClose_CountsTcpClosed_AndCurrentReturnsToZero(CancellationToken cancellationToken)
    {
        await using SocketListener listener = await StartAsync(EchoAsync);
        using (TcpClient client = await ConnectAsync(listener, cancellationToken))
        {
            await RoundTripAsync(client, "bye", cancellationToken);
            Assert.That(listener.CurrentConnections, Is.EqualTo(1));
        }

        await Poll.UntilAsync(() => listener.CurrentConnections == 0, cancellationToken);
        Assert.That(listener.ShutdownCount[ShutdownReasons.TcpClosed], Is.EqualTo(1));
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task PeerReset_DoesNotCrashTheListener(CancellationToken cancellationToken)
    {
        var handlerEnded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using SocketListener listener = await StartAsync(async (pipe, info, ct) =>
        {
            try
            {
                await EchoAsync(pipe, info, ct);
                handlerEnded.TrySetResult(null);
            }
            catch (Exception ex)
            {
                handlerEnded.TrySetResult(ex);
                throw;
            }
        });

        using (TcpClient client = await ConnectAsync(listener, cancellationToken))
        {
            await RoundTripAsync(client, "x", cancellationToken);

            // Linger 0: close sends RST instead of FIN (disposing the TcpClient would shut down first, sending FIN).
            client.Client.Close(timeout: 0);
        }

        Exception? error = await handlerEnded.Task.WaitAsync(cancellationToken);
        await Poll.UntilAsync(() => listener.CurrentConnections == 0, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error, Is.InstanceOf<IOException>(), "the reset reaches the handler as a transport error");
            Assert.That(listener.ShutdownCount[ShutdownReasons.ConnectionReset], Is.EqualTo(1));
        }

        using TcpClient next = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(next, "still serving", cancellationToken);
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task HandlerCompletesOutput_RemainingBytesAreSentThenFin(CancellationToken cancellationToken)
    {
        byte[] payload = new byte[300 * 1024];
        new Random(7).NextBytes(payload);
        await using SocketListener listener = await StartAsync(async (pipe, info, ct) =>
        {
            // Written and left: the transport must still deliver every byte before it closes.
            pipe.Output.Write(payload);
            await pipe.Output.FlushAsync(ct);
            await pipe.Output.CompleteAsync();
        });
        using TcpClient client = await ConnectAsync(listener, cancellationToken);

        byte[] received = await ReadToEndAsync(client.GetStream(), cancellationToken);

        Assert.That(received.AsSpan().SequenceEqual(payload), Is.True);
        await Poll.UntilAsync(() => listener.CurrentConnections == 0, cancellationToken);
        Assert.That(listener.ShutdownCount[ShutdownReasons.Normal], Is.EqualTo(1));
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task PeerHalfClose_CompletesInput_AndHandlerCanStillWrite(CancellationToken cancellationToken)
    {
        await using SocketListener listener = await StartAsync(EchoAsync);
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync("half"u8.ToArray(), cancellationToken);

        client.Client.Shutdown(SocketShutdown.Send);
        byte[] received = await ReadToEndAsync(stream, cancellationToken);

        Assert.That(Encoding.ASCII.GetString(received), Is.EqualTo("half"));
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task HandlerThrows_ConnectionIsClosed_AndListenerKeepsServing(CancellationToken cancellationToken)
    {
        int calls = 0;
        await using SocketListener listener = await StartAsync((pipe, info, ct) =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("handler bug") : EchoAsync(pipe, info, ct));

        using (TcpClient failing = await ConnectAsync(listener, cancellationToken))
        {
            Assert.That(await ReadUntilClosedAsync(failing, cancellationToken), Is.Zero);
        }

        using TcpClient next = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(next, "ok", cancellationToken);
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task StopAsync_StopsAccepting_OpenConnectionsKeepRunning(CancellationToken cancellationToken)
    {
        await using SocketListener listener = await StartAsync(EchoAsync);
        var endPoint = (IPEndPoint)listener.EndPoint;
        using TcpClient open = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(open, "before", cancellationToken);

        await listener.StopAsync(cancellationToken);

        Assert.That(listener.IsListening, Is.False);
        using (var refused = new TcpClient())
        {
            SocketException? error = Assert.ThrowsAsync<SocketException>(async () => await refused.ConnectAsync(endPoint, cancellationToken));
            Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        }

        await RoundTripAsync(open, "after", cancellationToken);
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task CloseConnectionsAsync_CancelsHandlersToken(CancellationToken cancellationToken)
    {
        await using SocketListener listener = await StartAsync(EchoAsync);
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(client, "x", cancellationToken);

        await listener.CloseConnectionsAsync(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(listener.CurrentConnections, Is.Zero);
            Assert.That(await ReadUntilClosedAsync(client, cancellationToken), Is.Zero);
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task CloseConnectionsAsync_AbortsHandlersThatIgnoreTheToken(CancellationToken cancellationToken)
    {
        // Reads without the token: only the abort (its input completing) ends it.
        await using SocketListener listener = await StartAsync((pipe, info, ct) => EchoAsync(pipe, info, CancellationToken.None));
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        await RoundTripAsync(client, "x", cancellationToken);

        await listener.CloseConnectionsAsync(new CancellationToken(canceled: true));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(listener.CurrentConnections, Is.Zero);
            Assert.That(listener.ShutdownCount.Total, Is.Zero, "aborts by the listener's own shutdown are not counted, as in esockd");
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task CloseConnectionsAsync_AfterSomeClosedOutOfOrder_AbortsTheRestAndWaitsForThem(CancellationToken cancellationToken)
    {
        // The listener keeps its open connections in a list: closing the newest, the oldest and one in the middle
        // must leave the others listed, so that shutdown still finds, aborts and waits for every one of them.
        await using SocketListener listener = await StartAsync((pipe, info, ct) => EchoAsync(pipe, info, CancellationToken.None));
        var clients = new List<TcpClient>();
        for (int i = 0; i < 6; i++)
        {
            TcpClient client = await ConnectAsync(listener, cancellationToken);
            await RoundTripAsync(client, "x", cancellationToken);
            clients.Add(client);
        }

        foreach (int index in (int[])[5, 0, 3])
        {
            clients[index].Dispose();
        }

        await Poll.UntilAsync(() => listener.CurrentConnections == 3, cancellationToken);
        await RoundTripAsync(clients[1], "still served", cancellationToken);

        await listener.CloseConnectionsAsync(new CancellationToken(canceled: true));

        Assert.That(listener.CurrentConnections, Is.Zero);
        foreach (int index in (int[])[1, 2, 4])
        {
            Assert.That(await ReadUntilClosedAsync(clients[index], cancellationToken), Is.Zero, $"client {index} was closed by the abort");
            clients[index].Dispose();
        }
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task PeerStopsReading_CloseTimeoutAbortsTheConnection(CancellationToken cancellationToken)
    {
        byte[] chunk = new byte[64 * 1024];
        await using SocketListener listener = await StartAsync(
            async (pipe, info, ct) =>
            {
                // Far more than the socket buffers hold; the client never reads, so the send cannot finish.
                for (int i = 0; i < 512; i++)
                {
                    pipe.Output.Write(chunk);
                    FlushResult flush = await pipe.Output.FlushAsync(ct);
                    if (flush.IsCompleted)
                    {
                        break;
                    }

                    if (i == 64)
                    {
                        // Return with unsent output: the close timeout must bound the drain.
                        return;
                    }
                }
            },
            o => { o.CloseTimeout = TimeSpan.FromMilliseconds(200); o.MaxWriteBufferSize = 0; });
        using TcpClient client = await ConnectAsync(listener, cancellationToken);
        client.ReceiveBufferSize = 4096;

        await Poll.UntilAsync(() => listener.ShutdownCount[ShutdownReasons.SendTimeout] == 1, cancellationToken);
        await Poll.UntilAsync(() => listener.CurrentConnections == 0, cancellationToken);
    }

    [Test, CancelAfter(TimeoutMs)]
    public async Task StartAsync_AddressInUse_Throws(CancellationToken cancellationToken)
    {
        await using SocketListener first = await StartAsync(EchoAsync);
        var options = new SocketListenerOptions { EndPoint = (IPEndPoint)first.EndPoint };
        await using var second = new SocketListener(options, EchoAsync);

        SocketException? error = Assert.ThrowsAsync<SocketException>(() => second.StartAsync(cancellationToken));

        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    public async Task RecordShutdown_CountsByName()
    {
        await using var listener = new SocketListener(new SocketListenerOptions(), EchoAsync);

        listener.RecordShutdown(ShutdownReasons.Kicked);
        listener.RecordShutdown(ShutdownReasons.Kicked);
        listener.RecordShutdown("discarded");

        Assert.That(listener.ShutdownCount.Snapshot(), Is.EqualTo(new Dictionary<string, long> { ["discarded"] = 1, ["kicked"] = 2 }));
    }

    [TestCase(nameof(SocketListenerOptions.Acceptors), 0)]
    [TestCase(nameof(SocketListenerOptions.Acceptors), 1025)]
    [TestCase(nameof(SocketListenerOptions.MaxConnections), 0)]
    [TestCase(nameof(SocketListenerOptions.Backlog), 0)]
    [TestCase(nameof(SocketListenerOptions.MaxWriteBufferSize), -1)]
    public void Options_RejectOutOfRangeValues(string property, int value)
    {
        var options = new SocketListenerOptions();
        Action set = property switch
        {
            nameof(SocketListenerOptions.Acceptors) => () => options.Acceptors = value,
            nameof(SocketListenerOptions.MaxConnections) => () => options.MaxConnections = value,
            nameof(SocketListenerOptions.Backlog) => () => options.Backlog = value,
            _ => () => options.MaxWriteBufferSize = value,
        };

        Assert.That(() => set(), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static async Task<SocketListener> StartAsync(
        Func<IDuplexPipe, ConnectionInfo, CancellationToken, Task> handler,
        Action<SocketListenerOptions>? configure = null)
    {
        var options = new SocketListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Acceptors = 2 };
        configure?.Invoke(options);
        var listener = new SocketListener(options, handler);
        await listener.StartAsync();
        return listener;
    }

    private static async Task<TcpClient> ConnectAsync(SocketListener listener, CancellationToken cancellationToken)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await client.ConnectAsync((IPEndPoint)listener.EndPoint, cancellationToken);
        return client;
    }

    private static async Task RoundTripAsync(TcpClient client, string text, CancellationToken cancellationToken)
    {
        byte[] sent = Encoding.UTF8.GetBytes(text);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(sent, cancellationToken);
        byte[] received = new byte[sent.Length];
        await stream.ReadExactlyAsync(received, cancellationToken);
        Assert.That(received, Is.EqualTo(sent));
    }

    private static async Task<byte[]> ReadToEndAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, cancellationToken);
        return received.ToArray();
    }

    /// <summary>Reads until the server closes; returns the bytes read before that (a reset counts as closed).</summary>
    private static async Task<int> ReadUntilClosedAsync(TcpClient client, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[256];
        int total = 0;
        try
        {
            int read;
            while ((read = await client.GetStream().ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
            }
        }
        catch (IOException)
        {
            // Reset instead of FIN: closed all the same.
        }

        return total;
    }

    private static async Task EchoAsync(IDuplexPipe pipe, ConnectionInfo info, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await pipe.Input.ReadAsync(cancellationToken);
            ReadOnlySequence<byte> buffer = result.Buffer;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                pipe.Output.Write(segment.Span);
            }

            pipe.Input.AdvanceTo(buffer.End);
            FlushResult flush = await pipe.Output.FlushAsync(cancellationToken);
            if (result.IsCompleted || flush.IsCompleted)
            {
                break;
            }
        }

        await pipe.Input.CompleteAsync();
        await pipe.Output.CompleteAsync();
    }
}
