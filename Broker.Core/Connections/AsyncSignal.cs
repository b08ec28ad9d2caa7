using System.Threading.Tasks.Sources;

namespace Broker.Core.Connections;

/// <summary>
/// An auto-reset signal with one waiter and any number of setters, reusable without allocation
/// (a <see cref="ManualResetValueTaskSourceCore{TResult}"/> recycled per wait). A publisher that sets it never runs
/// the writer loop in the middle of its own work: inside a <see cref="SignalBatch"/> the wake is deferred to the end of
/// the batch and runs on the setter's thread; outside one it runs on the thread pool.
/// </summary>
/// <remarks>
/// The signal queues itself as the work item and completes the wait from there (Kestrel's IOQueue trick): letting the
/// core run continuations asynchronously would allocate a thread-pool work item per wake.
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource, IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Waiting = 1;
    private const int Signaled = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
    private int _state;

    /// <summary>Completes when <see cref="Set"/> has been called since the last wait returned. One waiter at a time.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return default;
        }

        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            // A Set arrived between the two exchanges: consume it.
            Volatile.Write(ref _state, Idle);
            return default;
        }

        return new ValueTask(this, _core.Version);
    }

    public void Set()
    {
        var spinWait = default(SpinWait);
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == Signaled)
            {
                return;
            }

            if (state == Idle)
            {
                if (Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
                {
                    return;
                }
            }
            else if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            {
                if (!SignalBatch.TryDefer(this))
                {
                    ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                }

                return;
            }

            spinWait.SpinOnce();
        }
    }

    /// <summary>Runs on the thread pool after a <see cref="Set"/> that found a waiter; the waiter cannot re-arm before this.</summary>
    void IThreadPoolWorkItem.Execute() => _core.SetResult(true);

    /// <summary>Completes the pending wait on this thread: the waiter's continuation runs before this returns.</summary>
    internal void Release() => _core.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
