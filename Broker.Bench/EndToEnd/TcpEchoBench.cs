using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Broker.Core;
using Broker.Transport.Tcp;

namespace Broker.Bench.EndToEnd;

/// <summary>
/// The TCP transport alone: a loopback client sends a small frame and waits for the echo through a
/// <see cref="SocketListener"/> whose handler copies input to output. Measures the receive loop, the pipes, the send
/// loop and two thread hops per round trip; the allocation column is expected to read 0 in steady state.
/// 100 round trips per invocation: 1 ms per operation is 100k round trips per second.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes both.
public class TcpEchoBench
#pragma warning restore CA1001
{
    private const int Batch = 100;

    private SocketListener _listener = null!;
    private Socket _client = null!;
    private byte[] _send = null!;
    private byte[] _receive = null!;

    [Params(64, 16 * 1024)]
    public int FrameSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new SocketListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Acceptors = 1 };
        _listener = new SocketListener(options, EchoAsync);
        _listener.StartAsync().GetAwaiter().GetResult();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _client.Connect(_listener.EndPoint);
        _send = new byte[FrameSize];
        _receive = new byte[FrameSize];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public async Task RoundTrip()
    {
        for (int i = 0; i < Batch; i++)
        {
            await _client.SendAsync(_send.AsMemory(), SocketFlags.None);
            int received = 0;
            while (received < _receive.Length)
            {
                received += await _client.ReceiveAsync(_receive.AsMemory(received), SocketFlags.None);
            }
        }
    }

    private static async Task EchoAsync(IDuplexPipe pipe, ConnectionInfo info, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await pipe.Input.ReadAsync(cancellationToken);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                pipe.Output.Write(segment.Span);
            }

            pipe.Input.AdvanceTo(result.Buffer.End);
            FlushResult flush = await pipe.Output.FlushAsync(cancellationToken);
            if (result.IsCompleted || flush.IsCompleted)
            {
                break;
            }
        }
    }
}
