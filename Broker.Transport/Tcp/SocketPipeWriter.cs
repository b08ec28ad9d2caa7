using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using Broker.Transport.Buffers;

namespace Broker.Transport.Tcp;

/// <summary>
/// The output of a <see cref="SocketConnection"/>: a <see cref="PipeWriter"/> that sends on flush, on the flushing
/// thread, instead of a <see cref="Pipe"/> drained by a send loop.
/// </summary>
/// <remarks>
/// <para>
/// Written bytes go into pool blocks; <see cref="FlushAsync"/> hands them to the socket in one gathered send. Almost
/// always the kernel takes them at once and the blocks go straight back to the pool, so an idle connection holds no
/// buffer, no pipe and no send loop. When the kernel's buffer is full the send completes later, on an I/O thread,
/// which sends whatever was flushed meanwhile, until nothing is left. The writer does not wait for that unless more
/// than <c>pauseThreshold</c> bytes are unsent (then it waits until half of that): the back-pressure of a
/// <see cref="Pipe"/> with the same thresholds.
/// </para>
/// <para>
/// Concurrency: one writer calls GetMemory/Advance/FlushAsync/Complete; the background send runs on I/O threads.
/// Only the writer starts a send (<see cref="_sending"/> false to true), so a flush with no send in progress touches no
/// lock; a flush during one appends to the queue under a lock that the background send takes once per completion.
/// </para>
/// </remarks>
internal sealed class SocketPipeWriter : PipeWriter, IValueTaskSource<FlushResult>
{
    private static readonly Action<object?> s_onSendCompleted = static state => ((SocketPipeWriter)state!).OnSendCompleted();

    private readonly SocketConnection _connection;
    private ManualResetValueTaskSourceCore<FlushResult> _flushSource;

    // Writer-owned: written since the last flush.
    private BufferSegment? _writeHead;
    private BufferSegment? _writeTail;
    private long _unflushed;

    // Shared under this writer's lock while _sending: flushed and not yet sent.
    private BufferSegment? _sendHead;
    private BufferSegment? _sendTail;
    private long _unsent;
    private volatile bool _sending;
    private SocketSender? _sender;
    private int _flushWaiting;
    private int _flushCancelRequested;
    private volatile bool _broken;
    private bool _completed;
    private TaskCompletionSource? _drained;
    private BufferSegment? _batchEnd;
    private long _batchBytes;

    public SocketPipeWriter(SocketConnection connection)
    {
        _connection = connection;

        // A flush that waited for room resumes on the thread pool, never under the lock of the send that freed it.
        _flushSource.RunContinuationsAsynchronously = true;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    /// <summary>Completes when everything flushed has been sent (or the socket is gone); allocates only when it must wait.</summary>
    public Task WhenDrained()
    {
        lock (this)
        {
            if (!_sending)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        }

        int needed = Math.Max(sizeHint, 1);
        if (_writeTail is { } tail && tail.Available >= needed)
        {
            return tail.FreeMemory;
        }

        BufferSegment segment = needed <= BlockMemoryPool.BlockSize ? _connection.Options.Pool.RentSegment() : BufferSegment.RentLarge(needed);
        if (_writeTail is null)
        {
            _writeHead = _writeTail = segment;
        }
        else
        {
            _writeTail.SetNext(segment);
            _writeTail = segment;
        }

        return segment.FreeMemory;
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        BufferSegment tail = _writeTail ?? throw new InvalidOperationException("Advance without GetMemory.");
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, tail.Available);
        tail.Commit(bytes);
        _unflushed += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _flushCancelRequested, 0) != 0)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
        }

        if (_broken)
        {
            DropUnflushed();
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        if (_unflushed == 0)
        {
            DropUnflushed();
            return new ValueTask<FlushResult>(default(FlushResult));
        }

        BufferSegment head = _writeHead!;
        BufferSegment tail = _writeTail!;
        long bytes = _unflushed;
        _writeHead = _writeTail = null;
        _unflushed = 0;

        bool start;
        if (!_sending)
        {
            // No send in progress, and only this thread starts one: no lock.
            StartQueue(head, tail, bytes);
            start = true;
        }
        else
        {
            lock (this)
            {
                start = !_sending;
                if (start)
                {
                    StartQueue(head, tail, bytes);
                }
                else
                {
                    Append(head, tail, bytes);
                }
            }
        }

        if (start)
        {
            SendQueued();
        }

        if (_broken)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        if (_connection.Options.MaxWriteBufferSize > 0 && _sending && Volatile.Read(ref _unsent) > _connection.Options.MaxWriteBufferSize)
        {
            return WaitForRoom(cancellationToken);
        }

        return new ValueTask<FlushResult>(default(FlushResult));
    }

    public override void CancelPendingFlush()
    {
        Volatile.Write(ref _flushCancelRequested, 1);
        if (Interlocked.Exchange(ref _flushWaiting, 0) != 0)
        {
            Volatile.Write(ref _flushCancelRequested, 0);
            _flushSource.SetResult(new FlushResult(isCanceled: true, isCompleted: false));
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        // What was written and not flushed still goes out, as with a pipe; then FIN once everything is sent.
        if (_unflushed > 0 && !_broken)
        {
            _ = FlushAsync(CancellationToken.None).AsTask();
        }

        DropUnflushed();
        bool idle;
        lock (this)
        {
            _completed = true;
            idle = !_sending;
        }

        if (idle)
        {
            _connection.OnOutputDone();
        }
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _flushSource.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _flushSource.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _flushSource.OnCompleted(continuation, state, token, flags);

    /// <summary>The socket is gone: nothing more is sent, flushes report completion.</summary>
    public void OnSocketBroken()
    {
        _broken = true;
        WakeFlush(new FlushResult(isCanceled: false, isCompleted: true));
    }

    private ValueTask<FlushResult> WaitForRoom(CancellationToken cancellationToken)
    {
        // Above the pause threshold: wait until the background send brings the backlog under the resume threshold.
        lock (this)
        {
            if (!_sending || _unsent <= _connection.Options.MaxWriteBufferSize)
            {
                return new ValueTask<FlushResult>(default(FlushResult));
            }

            _flushSource.Reset();
            Volatile.Write(ref _flushWaiting, 1);
        }

        if (cancellationToken.CanBeCanceled)
        {
            return WaitWithTokenAsync(new ValueTask<FlushResult>(this, _flushSource.Version), cancellationToken);
        }

        return new ValueTask<FlushResult>(this, _flushSource.Version);
    }

    private async ValueTask<FlushResult> WaitWithTokenAsync(ValueTask<FlushResult> wait, CancellationToken cancellationToken)
    {
        FlushResult result;
        using (cancellationToken.UnsafeRegister(static state => ((SocketPipeWriter)state!).CancelPendingFlush(), this))
        {
            result = await wait.ConfigureAwait(false);
        }

        if (result.IsCanceled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        return result;
    }

    private void WakeFlush(FlushResult result)
    {
        if (Interlocked.Exchange(ref _flushWaiting, 0) != 0)
        {
            _flushSource.SetResult(result);
        }
    }

    /// <summary>Sends the queue until it is empty or a send goes asynchronous; runs on the writer's or an I/O thread.</summary>
    private void SendQueued()
    {
        SocketSender sender = _sender ??= _connection.Options.SenderPool.Rent();
        while (true)
        {
            ReadOnlySequence<byte> batch;
            SendEnd end;
            lock (this)
            {
                if (_sendHead is null || _broken)
                {
                    end = EndSending();
                    goto Ended;
                }

                batch = TakeBatch();
            }

            ValueTask<SocketOperationResult> send;
            try
            {
                send = sender.SendAsync(_connection.Socket, batch);
            }
            catch (ObjectDisposedException)
            {
                OnSendFailed(SocketError.OperationAborted);
                return;
            }

            if (!send.IsCompleted)
            {
                // The kernel's buffer is full: the rest continues on the I/O thread that completes this send.
                sender.OnCompleted(s_onSendCompleted, this, 0, ValueTaskSourceOnCompletedFlags.None);
                return;
            }

            if (!OnSent(send.Result))
            {
                return;
            }

            continue;

        Ended:
            Finish(end);
            return;
        }
    }

    private void OnSendCompleted()
    {
        try
        {
            if (OnSent(_sender!.GetResult(0)))
            {
                SendQueued();
            }
        }
#pragma warning disable CA1031 // An I/O thread must not see an exception: the connection ends instead.
        catch (Exception)
#pragma warning restore CA1031
        {
            OnSendFailed(SocketError.SocketError);
        }
    }

    /// <summary>
    /// Under the lock: the sequence for the next send, at most <see cref="SocketSender.MaxSegmentsPerSend"/> whole
    /// segments from the head of the queue; remembers where it ends for <see cref="OnSent"/>.
    /// </summary>
    private ReadOnlySequence<byte> TakeBatch()
    {
        BufferSegment head = _sendHead!;
        BufferSegment last = head;
        long bytes = head.End;
        for (int segments = 1; segments < SocketSender.MaxSegmentsPerSend && last.NextSegment is { } next; segments++)
        {
            last = next;
            bytes += next.End;
        }

        _batchEnd = last;
        _batchBytes = bytes;
        return new ReadOnlySequence<byte>(head, 0, last, last.End);
    }

    /// <summary>Releases what the last send took; false when the send failed and sending stopped.</summary>
    private bool OnSent(SocketOperationResult result)
    {
        _sender!.Reset();
        if (result.HasError)
        {
            OnSendFailed(result.SocketError!.SocketErrorCode);
            return false;
        }

        lock (this)
        {
            BufferSegment? segment = _sendHead;
            BufferSegment end = _batchEnd!;
            while (segment is not null)
            {
                BufferSegment? next = segment.NextSegment;
                bool last = ReferenceEquals(segment, end);
                segment.Release();
                segment = next;
                if (last)
                {
                    break;
                }
            }

            _sendHead = segment;
            if (segment is null)
            {
                _sendTail = null;
            }

            _batchEnd = null;
            _unsent -= _batchBytes;
            if (_unsent <= _connection.Options.ResumeWriteBufferSize)
            {
                WakeFlush(default);
            }
        }

        return true;
    }

    private void OnSendFailed(SocketError error)
    {
        _connection.OnSendError(error);
        _broken = true;
        SendEnd end;
        lock (this)
        {
            end = EndSending();
        }

        Finish(end);
    }

    /// <summary>Under the lock: sending stops (queue empty, or the socket broken and the queue dropped).</summary>
    private SendEnd EndSending()
    {
        if (_broken)
        {
            BufferSegment.ReleaseChain(_sendHead);
            _sendHead = _sendTail = null;
            _batchEnd = null;
            _unsent = 0;
        }

        SocketSender? sender = _sender;
        _sender = null;
        _sending = false;
        WakeFlush(new FlushResult(isCanceled: false, isCompleted: _broken));
        TaskCompletionSource? drained = _drained;
        _drained = null;
        return new SendEnd(sender, drained, _completed);
    }

    /// <summary>Outside the lock: what ending a send run sets off.</summary>
    private void Finish(in SendEnd end)
    {
        if (end.Sender is not null)
        {
            _connection.Options.SenderPool.Return(end.Sender);
        }

        end.Drained?.TrySetResult();
        if (end.OutputDone)
        {
            _connection.OnOutputDone();
        }
    }

    private void StartQueue(BufferSegment head, BufferSegment tail, long bytes)
    {
        head.ResetRunningIndex();
        RelinkRunningIndex(head);
        _sendHead = head;
        _sendTail = tail;
        _unsent = bytes;
        _sending = true;
    }

    private void Append(BufferSegment head, BufferSegment tail, long bytes)
    {
        if (_sendTail is null)
        {
            head.ResetRunningIndex();
            RelinkRunningIndex(head);
            _sendHead = head;
        }
        else
        {
            _sendTail.SetNext(head);
            RelinkRunningIndex(head);
        }

        _sendTail = tail;
        _unsent += bytes;
    }

    private void DropUnflushed()
    {
        BufferSegment.ReleaseChain(_writeHead);
        _writeHead = _writeTail = null;
        _unflushed = 0;
    }

    /// <summary>Recomputes the running indexes after <paramref name="segment"/> (a chain built before it was linked).</summary>
    private static void RelinkRunningIndex(BufferSegment segment)
    {
        for (BufferSegment? next = segment.NextSegment; next is not null; segment = next, next = next.NextSegment)
        {
            segment.SetNext(next);
        }
    }

    private readonly record struct SendEnd(SocketSender? Sender, TaskCompletionSource? Drained, bool OutputDone);
}
