using System.IO.Pipelines;
using System.Net.Sockets;

namespace Broker.Transport.Tcp;

/// <summary>The reusable receive operation of one connection.</summary>
internal sealed class SocketReceiver : SocketAwaitableEventArgs
{
    public SocketReceiver(PipeScheduler ioScheduler)
        : base(ioScheduler)
    {
    }

    /// <summary>
    /// A zero-byte receive: completes when data (or FIN, or an error) is there, so an idle connection holds no buffer.
    /// MQTT connections are mostly idle; this is what keeps 100k of them from pinning 100k pool blocks.
    /// </summary>
    public ValueTask<SocketOperationResult> WaitForDataAsync(Socket socket)
    {
        SetBuffer(Memory<byte>.Empty);
        return Complete(socket.ReceiveAsync(this));
    }

    public ValueTask<SocketOperationResult> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        SetBuffer(buffer);
        return Complete(socket.ReceiveAsync(this));
    }
}
