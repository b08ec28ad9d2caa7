using System.Threading.Tasks.Sources;

namespace Broker.Bench.Load;

/// <summary>
/// An auto-reset event for one awaiting loop, allocation-free: a publisher waits on it when its window is full, its
/// receive loop sets it when acknowledgements free room. A set with nobody waiting is remembered once.
/// The waiter resumes inline in <see cref="Set"/> (on the socket thread, since socket completions run inline too): it
/// fills and sends the next batch, then yields back at its next wait, with no thread-pool hop per acknowledgement.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
    private int _state;

    public void Set()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == Signaled)
            {
                return;
            }

            if (state == Idle && Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
            {
                return;
            }

            if (state == Waiting && Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            {
                _core.SetResult(true);
                return;
            }
        }
    }

    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return ValueTask.CompletedTask;
        }

        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            Volatile.Write(ref _state, Idle);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(this, _core.Version);
    }

    public void GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
