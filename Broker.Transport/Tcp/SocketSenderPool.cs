using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace Broker.Transport.Tcp;

/// <summary>
/// Send operations shared by a listener's connections (Kestrel's SocketSenderPool): a connection rents one for each
/// send and returns it when the send completes, so an idle connection holds none (a <see cref="SocketSender"/> is
/// about 350 bytes with its delegate and buffer list; 10,000 idle connections held 3.5 MB of them).
/// </summary>
internal sealed class SocketSenderPool : IDisposable
{
    // Enough for every send in flight at once on a busy listener; beyond it, senders are disposed on return.
    private const int MaxQueueSize = 1024;

    private readonly ConcurrentQueue<SocketSender> _queue = new();
    private readonly PipeScheduler _scheduler;
    private int _count;
    private volatile bool _disposed;

    public SocketSenderPool(PipeScheduler scheduler) => _scheduler = scheduler;

    public SocketSender Rent()
    {
        if (_queue.TryDequeue(out SocketSender? sender))
        {
            Interlocked.Decrement(ref _count);
            return sender;
        }

        return new SocketSender(_scheduler);
    }

    /// <summary>Takes back a sender whose send has completed.</summary>
    public void Return(SocketSender sender)
    {
        // The reference to the last send's buffers goes now, so pool blocks are never kept alive from here.
        sender.Reset();
        if (_disposed || Interlocked.Increment(ref _count) > MaxQueueSize)
        {
            Interlocked.Decrement(ref _count);
            sender.Dispose();
            return;
        }

        _queue.Enqueue(sender);
    }

    public void Dispose()
    {
        _disposed = true;
        while (_queue.TryDequeue(out SocketSender? sender))
        {
            sender.Dispose();
        }
    }
}
