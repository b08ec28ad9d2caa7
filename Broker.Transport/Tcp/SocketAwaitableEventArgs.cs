using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Broker.Transport.Tcp;

/// <summary>
/// A <see cref="SocketAsyncEventArgs"/> that is its own <see cref="IValueTaskSource{TResult}"/>, so a connection's
/// receive and send loops await socket operations with no allocation per operation (Kestrel's SocketAwaitableEventArgs).
/// One operation at a time: the owning loop awaits each result before starting the next.
/// </summary>
internal class SocketAwaitableEventArgs : SocketAsyncEventArgs, IValueTaskSource<SocketOperationResult>
{
    // Marks "the operation completed before anyone awaited it"; compared by reference, never invoked.
    private static readonly Action<object?> s_continuationCompleted = _ => { };

    private readonly PipeScheduler _ioScheduler;
    private Action<object?>? _continuation;

    // The execution context is not flowed: the loops that await these run no user code that needs it.
    protected SocketAwaitableEventArgs(PipeScheduler ioScheduler)
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        _ioScheduler = ioScheduler;
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        Action<object?>? continuation = _continuation;
        if (continuation is not null || (continuation = Interlocked.CompareExchange(ref _continuation, s_continuationCompleted, null)) is not null)
        {
            object? state = UserToken;
            UserToken = null;
            _continuation = s_continuationCompleted;
            _ioScheduler.Schedule(continuation, state);
        }
    }

    public SocketOperationResult GetResult(short token)
    {
        _continuation = null;
        return SocketError == SocketError.Success
            ? new SocketOperationResult(BytesTransferred)
            : new SocketOperationResult(CreateException(SocketError));
    }

    public ValueTaskSourceStatus GetStatus(short token)
        => !ReferenceEquals(_continuation, s_continuationCompleted) ? ValueTaskSourceStatus.Pending
            : SocketError == SocketError.Success ? ValueTaskSourceStatus.Succeeded
            : ValueTaskSourceStatus.Faulted;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        UserToken = state;
        Action<object?>? previous = Interlocked.CompareExchange(ref _continuation, continuation, null);
        if (ReferenceEquals(previous, s_continuationCompleted))
        {
            // The operation finished between the start and the await: run the continuation now, off this stack.
            UserToken = null;
            ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);
        }
    }

    /// <summary>Turns the result of <c>Socket.*Async(this)</c> into a value task: pending, or completed synchronously.</summary>
    protected ValueTask<SocketOperationResult> Complete(bool pending)
    {
        if (pending)
        {
            return new ValueTask<SocketOperationResult>(this, 0);
        }

        SocketError error = SocketError;
        return error == SocketError.Success
            ? new ValueTask<SocketOperationResult>(new SocketOperationResult(BytesTransferred))
            : new ValueTask<SocketOperationResult>(new SocketOperationResult(CreateException(error)));
    }

    protected static SocketException CreateException(SocketError error) => new((int)error);
}
