using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Broker.Transport.Tcp;

/// <summary>
/// The reusable send operation of one connection. A multi-segment buffer goes out in one gathered send
/// (<see cref="SocketAsyncEventArgs.BufferList"/>, a list kept across sends), so everything the broker flushed
/// since the last send costs one syscall.
/// </summary>
internal sealed class SocketSender : SocketAwaitableEventArgs
{
    // Grows with the largest gathered send this connection has made: an idle connection holds none of it (4 KB at
    // the maximum), one that moves batches keeps what it needed.
    private readonly List<ArraySegment<byte>> _bufferList = [];

    /// <summary>
    /// Segments per gathered send. Linux caps a sendmsg at IOV_MAX (1024) iovecs; 256 pool blocks (1 MB at 4 KB)
    /// are plenty for one syscall, and the rest goes out on the next turn of the send loop.
    /// </summary>
    public const int MaxSegmentsPerSend = 256;

    public SocketSender(PipeScheduler ioScheduler)
        : base(ioScheduler)
    {
    }

    /// <summary>Sends <paramref name="buffers"/>, which must be non-empty and at most <see cref="MaxSegmentsPerSend"/> segments.</summary>
    public ValueTask<SocketOperationResult> SendAsync(Socket socket, in ReadOnlySequence<byte> buffers)
    {
        if (buffers.IsSingleSegment)
        {
            SetBuffer(MemoryMarshal.AsMemory(buffers.First));
        }
        else
        {
            foreach (ReadOnlyMemory<byte> segment in buffers)
            {
                _bufferList.Add(GetArray(segment));
            }

            // Assigning the list copies it into the event args' own array of buffers.
            BufferList = _bufferList;
        }

        return Complete(socket.SendAsync(this));
    }

    /// <summary>Forgets the last send's buffers, so the pool blocks are not referenced from here after the pipe recycles them.</summary>
    public void Reset()
    {
        if (BufferList is not null)
        {
            BufferList = null;
            _bufferList.Clear();
        }
        else
        {
            SetBuffer(null, 0, 0);
        }
    }

    private static ArraySegment<byte> GetArray(ReadOnlyMemory<byte> memory)
    {
        // Pipe segments come from the array pool; a native-memory pool would need the one-segment-per-send path.
        if (!MemoryMarshal.TryGetArray(memory, out ArraySegment<byte> segment))
        {
            throw new InvalidOperationException("The output pipe's memory pool must be array-backed.");
        }

        return segment;
    }
}
