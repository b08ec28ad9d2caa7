using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace Broker.Bench.Support;

/// <summary>
/// Kestrel's IOQueue: a <see cref="PipeScheduler"/> that runs callbacks on the thread pool without a work item
/// allocation per callback (<see cref="PipeScheduler.ThreadPool"/> allocates one per wake). The queue itself is the
/// work item, queued at most once while it has callbacks to run.
/// </summary>
internal sealed class IOQueue : PipeScheduler, IThreadPoolWorkItem
{
    private readonly ConcurrentQueue<Work> _work = new();
    private int _doingWork;

    public override void Schedule(Action<object?> action, object? state)
    {
        _work.Enqueue(new Work(action, state));
        if (Interlocked.CompareExchange(ref _doingWork, 1, 0) == 0)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (_work.TryDequeue(out Work item))
            {
                item.Callback(item.State);
            }

            Volatile.Write(ref _doingWork, 0);
            if (_work.IsEmpty || Interlocked.CompareExchange(ref _doingWork, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private readonly record struct Work(Action<object?> Callback, object? State);
}
