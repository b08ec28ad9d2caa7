using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using Broker.Transport.Buffers;

namespace Broker.Transport.Tcp;

/// <summary>
/// The input of a <see cref="SocketConnection"/>: a <see cref="PipeReader"/> that receives from the socket when its
/// reader asks for more, instead of a <see cref="Pipe"/> filled by a receive loop.
/// </summary>
/// <remarks>
/// <para>
/// Pull, not push: there is no receive loop, no pipe and no second state machine per connection, and an idle
/// connection holds no buffer. When the buffer is empty a read starts with a zero-byte receive (readiness), then
/// receives into a pool block on the thread that saw the data, and the reader's continuation runs right there: one
/// thread-pool hop per burst of packets instead of two. TCP back-pressure is natural: nothing is received while the
/// broker is not reading.
/// </para>
/// <para>
/// Concurrency: one reader calls <see cref="ReadAsync"/>, <see cref="AdvanceTo(SequencePosition, SequencePosition)"/>
/// and <see cref="Complete"/> in turn; socket completions and <see cref="CancelPendingRead"/> come from other threads.
/// A pending read is owned by whoever takes <see cref="_awaiting"/> from 1 to 0: the socket completion (which then
/// processes the receive and completes the read) or a cancel (which completes it as cancelled and leaves the receive
/// to be picked up by the next read). The buffer chain is touched only by the owner.
/// </para>
/// </remarks>
internal sealed class SocketPipeReader : PipeReader, IValueTaskSource<ReadResult>, IDisposable
{
    /// <summary>Bytes one read gathers at most when the socket has more ready (<see cref="ReceiveMore"/>).</summary>
    private const int MaxBytesPerRead = 64 * 1024;

    private readonly SocketConnection _connection;
    private readonly ReceiveArgs _args;
    private ManualResetValueTaskSourceCore<ReadResult> _source;

    // The received bytes not yet consumed: from (_head, _headStart) to (_tail, _tail.End).
    private BufferSegment? _head;
    private BufferSegment? _tail;
    private int _headStart;
    private bool _examinedAll = true;

    // The receive operation started and not yet processed (a cancelled read leaves one for the next read).
    private Operation _operation;
    private BufferSegment? _operationBlock;
    private int _operationInFlight;
    private int _awaiting;
    private int _cancelRequested;
    private bool _lastReceiveFilledBlock;
    private bool _startAborted;

    private bool _finished;
    private Exception? _error;
    private bool _completed;

    public SocketPipeReader(SocketConnection connection, bool dispatchContinuations)
    {
        _connection = connection;
        _args = new ReceiveArgs(this);
        _source.RunContinuationsAsynchronously = dispatchContinuations;
    }

    private enum Operation : byte
    {
        None,

        /// <summary>A zero-byte receive: completes when data, FIN or an error is there.</summary>
        WaitForData,

        /// <summary>A receive into <see cref="_operationBlock"/>.</summary>
        Receive,
    }

    /// <summary>Whether a receive is still outstanding on the socket (its event args must not be disposed yet).</summary>
    public bool OperationInFlight => Volatile.Read(ref _operationInFlight) != 0;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_completed)
        {
            throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        }

        if (cancellationToken.CanBeCanceled)
        {
            return ReadWithTokenAsync(cancellationToken);
        }

        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            return new ValueTask<ReadResult>(new ReadResult(GetBuffer(), isCanceled: true, isCompleted: false));
        }

        // Bytes not yet examined come first, even with a receive outstanding (one left by a cancelled read or by
        // ReceiveMore): it only ever adds after them.
        if (TryGetBufferedResult(out ReadResult buffered))
        {
            return new ValueTask<ReadResult>(buffered);
        }

        if (_operation != Operation.None)
        {
            return AdoptOperation();
        }

        return _error is { } error ? ValueTask.FromException<ReadResult>(error) : StartReceive();
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_completed)
        {
            throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        }

        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            result = new ReadResult(GetBuffer(), isCanceled: true, isCompleted: false);
            return true;
        }

        if (TryGetBufferedResult(out result))
        {
            return true;
        }

        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_head is null)
        {
            _examinedAll = true;
            return;
        }

        var consumedSegment = (BufferSegment?)consumed.GetObject() ?? _head;
        int consumedIndex = consumed.GetObject() is null ? _headStart : consumed.GetInteger();
        while (!ReferenceEquals(_head, consumedSegment))
        {
            BufferSegment next = _head!.NextSegment ?? throw new InvalidOperationException("The consumed position is not in the last buffer read.");
            _head.Release();
            _head = next;
            _headStart = 0;
        }

        _headStart = consumedIndex;
        BufferSegment tail = _tail!;
        if (ReferenceEquals(_head, tail) && _headStart == tail.End)
        {
            // Everything consumed: give the last block back too, so an idle connection holds none.
            tail.Release();
            _head = _tail = null;
            _headStart = 0;
            _examinedAll = true;
            return;
        }

        _examinedAll = ReferenceEquals(examined.GetObject(), tail) && examined.GetInteger() == tail.End;
    }

    public override void CancelPendingRead()
    {
        Volatile.Write(ref _cancelRequested, 1);
        if (Interlocked.Exchange(ref _awaiting, 0) != 0)
        {
            // The read was pending: it ends now, cancelled. A receive still outstanding is kept for the next read.
            Volatile.Write(ref _cancelRequested, 0);
            _source.SetResult(new ReadResult(GetBuffer(), isCanceled: true, isCompleted: false));
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        BufferSegment.ReleaseChain(_head);
        _head = _tail = null;

        // A receive still outstanding (its read was cancelled) releases its own block when it completes.
        if (_operation != Operation.None && Volatile.Read(ref _operationInFlight) == 0)
        {
            ReleaseOperationBlock();
            _operation = Operation.None;
        }

    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _source.OnCompleted(continuation, state, token, flags);

    /// <summary>
    /// Disposes the receive's event args. Safe with a receive outstanding: the args finish disposing when it completes
    /// (the connection disposes the socket first, so it does at once).
    /// </summary>
    public void Dispose() => _args.Dispose();

    private async ValueTask<ReadResult> ReadWithTokenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ReadResult result;
        using (cancellationToken.UnsafeRegister(static state => ((SocketPipeReader)state!).CancelPendingRead(), this))
        {
            result = await ReadAsync(CancellationToken.None).ConfigureAwait(false);
        }

        if (result.IsCanceled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        return result;
    }

    private bool TryGetBufferedResult(out ReadResult result)
    {
        if (_head is not null && !_examinedAll)
        {
            result = new ReadResult(GetBuffer(), isCanceled: false, isCompleted: _finished);
            return true;
        }

        if (_finished)
        {
            result = new ReadResult(GetBuffer(), isCanceled: false, isCompleted: true);
            return true;
        }

        result = default;
        return false;
    }

    private ReadOnlySequence<byte> GetBuffer()
        => _head is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tail!.End);

    /// <summary>Starts the receive this read needs: readiness first when no bytes are held (no block while idle).</summary>
    private ValueTask<ReadResult> StartReceive()
    {
        _source.Reset();
        Interlocked.Exchange(ref _awaiting, 1);
        if (Volatile.Read(ref _cancelRequested) != 0 && Interlocked.Exchange(ref _awaiting, 0) != 0)
        {
            Volatile.Write(ref _cancelRequested, 0);
            return new ValueTask<ReadResult>(new ReadResult(GetBuffer(), isCanceled: true, isCompleted: false));
        }

        bool completed = _head is null && _connection.Options.WaitForData && !_lastReceiveFilledBlock
            ? TryStart(Operation.WaitForData, Memory<byte>.Empty)
            : TryStart(Operation.Receive, GetReceiveMemory());
        return completed ? ProcessSynchronously() : new ValueTask<ReadResult>(this, _source.Version);
    }

    /// <summary>A read after a cancelled one: the receive that read started is finished or still outstanding.</summary>
    private ValueTask<ReadResult> AdoptOperation()
    {
        _source.Reset();
        Interlocked.Exchange(ref _awaiting, 1);
        if (Volatile.Read(ref _operationInFlight) != 0)
        {
            // Still outstanding: its completion sees _awaiting and completes this read.
            return new ValueTask<ReadResult>(this, _source.Version);
        }

        // Finished; if the completion raced us to _awaiting, it completes this read itself.
        return TakeOwnership() ? ProcessSynchronously() : new ValueTask<ReadResult>(this, _source.Version);
    }

    /// <summary>
    /// Starts a socket receive for the pending read (whose <see cref="_awaiting"/> is set). True when it completed at
    /// once and this caller still owns the read, so it processes the result; false when the completion (or a cancel)
    /// takes over.
    /// </summary>
    private bool TryStart(Operation operation, Memory<byte> memory)
    {
        _operation = operation;
        _args.SetBuffer(memory);
        Interlocked.Exchange(ref _operationInFlight, 1);
        bool pending;
        try
        {
            pending = _connection.Socket.ReceiveAsync(_args);
        }
        catch (ObjectDisposedException)
        {
            _startAborted = true;
            pending = false;
        }

        if (pending)
        {
            return false;
        }

        Volatile.Write(ref _operationInFlight, 0);
        return TakeOwnership();
    }

    private bool TakeOwnership() => Interlocked.Exchange(ref _awaiting, 0) != 0;

    /// <summary>The socket finished the operation (on an I/O thread).</summary>
    private void OnOperationCompleted()
    {
        Interlocked.Exchange(ref _operationInFlight, 0);
        if (TakeOwnership())
        {
            try
            {
                if (TryProcess(out ReadResult result, out Exception? error))
                {
                    if (error is null)
                    {
                        _source.SetResult(result);
                    }
                    else
                    {
                        _source.SetException(error);
                    }
                }
            }
#pragma warning disable CA1031 // An I/O thread must not see an exception: the read gets it instead.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _source.SetException(ex);
            }
        }
        else if (_completed)
        {
            // The reader is gone (its read was cancelled, then it completed): nothing will pick this up.
            ReleaseOperationBlock();
            _operation = Operation.None;
        }
    }

    /// <summary>The result for the read that owns the finished operation, or a pending value task if it went on.</summary>
    private ValueTask<ReadResult> ProcessSynchronously()
    {
        if (!TryProcess(out ReadResult result, out Exception? error))
        {
            return new ValueTask<ReadResult>(this, _source.Version);
        }

        return error is null ? new ValueTask<ReadResult>(result) : ValueTask.FromException<ReadResult>(error);
    }

    /// <summary>
    /// Turns the finished operation into a read result: data, FIN, or the connection's error. After readiness it
    /// starts the receive proper, which almost always completes at once; false when it did not (the completion, or a
    /// cancel, now owns the read).
    /// </summary>
    private bool TryProcess(out ReadResult result, out Exception? error)
    {
        while (true)
        {
            Operation operation = _operation;
            _operation = Operation.None;
            SocketError socketError = _startAborted ? SocketError.OperationAborted : _args.SocketError;
            int received = _args.BytesTransferred;
            _startAborted = false;
            error = null;

            if (socketError == SocketError.Success && operation == Operation.WaitForData)
            {
                // Data (or FIN, or an error) is there. An asynchronous receive, not a synchronous one: a synchronous
                // receive queues behind the socket's async queue and can park a pool thread until the next event.
                Interlocked.Exchange(ref _awaiting, 1);
                if (TryStart(Operation.Receive, GetReceiveMemory()))
                {
                    continue;
                }

                result = default;
                return false;
            }

            if (socketError != SocketError.Success)
            {
                ReleaseOperationBlock();
                error = SetError(socketError);
                result = default;
                return true;
            }

            if (received == 0)
            {
                ReleaseOperationBlock();
                _connection.OnPeerClosed();
                _finished = true;
            }
            else
            {
                CommitReceived(received);
                ReceiveMore();
            }

            _examinedAll = false;
            result = new ReadResult(GetBuffer(), isCanceled: false, isCompleted: _finished);
            return true;
        }
    }

    /// <summary>
    /// While receives fill whole blocks (a peer sending faster than one block per read), takes what else the socket
    /// already holds, up to <see cref="MaxBytesPerRead"/>, so the broker handles it in one batch: one flush per
    /// subscriber per batch, not per 4 KiB. A receive that does not complete at once is left for the next read.
    /// </summary>
    private void ReceiveMore()
    {
        while (_lastReceiveFilledBlock && _tail!.RunningIndex + _tail.End - _head!.RunningIndex - _headStart < MaxBytesPerRead)
        {
            // No read waits on this one (_awaiting stays 0): if it goes asynchronous, its completion leaves it staged.
            _operation = Operation.Receive;
            _args.SetBuffer(GetReceiveMemory());
            Interlocked.Exchange(ref _operationInFlight, 1);
            try
            {
                if (_connection.Socket.ReceiveAsync(_args))
                {
                    return;
                }
            }
            catch (ObjectDisposedException)
            {
                _args.SetBuffer(Memory<byte>.Empty);
                Volatile.Write(ref _operationInFlight, 0);
                ReleaseOperationBlock();
                _operation = Operation.None;
                SetError(SocketError.OperationAborted);
                return;
            }

            Volatile.Write(ref _operationInFlight, 0);
            _operation = Operation.None;
            SocketError socketError = _args.SocketError;
            int received = _args.BytesTransferred;
            _args.SetBuffer(Memory<byte>.Empty);
            if (socketError != SocketError.Success)
            {
                // The bytes already received go to the reader first; its next read reports the error.
                ReleaseOperationBlock();
                SetError(socketError);
                return;
            }

            if (received == 0)
            {
                ReleaseOperationBlock();
                _connection.OnPeerClosed();
                _finished = true;
                return;
            }

            CommitReceived(received);
        }
    }

    private Memory<byte> GetReceiveMemory()
    {
        // Always a fresh block, never the tail's free space: the tail may be released by AdvanceTo while a receive
        // left by a cancelled read is still writing.
        BufferSegment block = _connection.Options.Pool.RentSegment();
        _operationBlock = block;
        return block.FreeMemory;
    }

    private void CommitReceived(int received)
    {
        BufferSegment block = _operationBlock!;
        _operationBlock = null;
        _lastReceiveFilledBlock = block.Available == received;
        block.Commit(received);
        if (_tail is null)
        {
            block.ResetRunningIndex();
            _head = _tail = block;
            _headStart = 0;
        }
        else
        {
            _tail.SetNext(block);
            _tail = block;
        }
    }

    private void ReleaseOperationBlock()
    {
        // Complete and a late socket completion may both get here: only one of them gives the block back.
        Interlocked.Exchange(ref _operationBlock, null)?.Release();
    }

    private Exception SetError(SocketError socketError)
    {
        _error ??= _connection.OnReceiveError(socketError);
        return _error;
    }

    /// <summary>The connection's one receive operation; its completion goes straight back to the reader.</summary>
    private sealed class ReceiveArgs(SocketPipeReader reader) : SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true)
    {
        protected override void OnCompleted(SocketAsyncEventArgs e) => reader.OnOperationCompleted();
    }
}
