namespace Broker.Core.Connections;

/// <summary>
/// Back-pressure from a consumer to its publishers. A subscriber whose pending deliveries pass a high-water mark
/// closes its gate; a publisher whose PUBLISH met a closed gate stops reading its socket until the gate opens again
/// (below the low-water mark), so TCP pushes back on it instead of the broker accepting messages it would drop.
/// The gate records itself in <see cref="t_met"/> on the routing thread, which is the publisher's read loop.
/// </summary>
internal sealed class CongestionGate
{
    [ThreadStatic]
    private static CongestionGate? t_met;

    private TaskCompletionSource? _opened;
    private long _closings;

    /// <summary>The connection or session whose deliveries this gate guards; a publisher never waits on its own.</summary>
    public required object Owner { get; init; }

    public bool IsClosed => Volatile.Read(ref _opened) is not null;

    /// <summary>Closes the gate (idempotent) and notes it for the publisher being routed on this thread.</summary>
    public void Close()
    {
        if (Volatile.Read(ref _opened) is null
            && Interlocked.CompareExchange(ref _opened, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null) is null)
        {
            Interlocked.Increment(ref _closings);
        }

        t_met = this;
    }

    /// <summary>How many times the gate has closed: tells one congestion episode from the next.</summary>
    public long Closings => Interlocked.Read(ref _closings);

    /// <summary>Whether routing on this thread met a closed gate since the last <see cref="Forget"/>.</summary>
    public static bool AnyMet => t_met is not null;

    /// <summary>Opens the gate and releases every publisher waiting on it.</summary>
    public void Open()
    {
        // Called once per writer batch: a plain read keeps the common, already-open case free of an interlocked write.
        if (Volatile.Read(ref _opened) is not null)
        {
            Interlocked.Exchange(ref _opened, null)?.TrySetResult();
        }
    }

    /// <summary>Completes when the gate is open.</summary>
    public Task WaitOpenAsync() => Volatile.Read(ref _opened)?.Task ?? Task.CompletedTask;

    /// <summary>Drops a note left on this thread by routing that was not a read loop's (timers, the management API).</summary>
    public static void Forget() => t_met = null;

    /// <summary>The closed gate the packets just routed on this thread met, if any; clears the note.</summary>
    public static CongestionGate? TakeMet()
    {
        CongestionGate? met = t_met;
        t_met = null;
        return met is not null && met.IsClosed ? met : null;
    }
}
