namespace Broker.Core.Connections;

/// <summary>
/// Defers writer wakes to the end of a read batch and runs them on the reading thread (Redis's "before sleep" flush of
/// client buffers). A connection's read loop opens a batch around the packets of one read: every subscriber whose
/// queue went from empty to non-empty is noted, and when the batch closes each of their writers runs inline,
/// encodes everything queued in the batch and flushes once. No thread-pool hop per delivery, and batching is kept:
/// a writer never runs before the whole read has been routed.
/// </summary>
/// <remarks>
/// Thread-static, so a batch covers only synchronous code on one thread: open it after an await returns and close it
/// before the next await. A batch opened while one is open on the same thread (a read loop resumed inline from a
/// writer's flush) joins the outer one, which runs everything when it closes.
/// </remarks>
internal static class SignalBatch
{
    [ThreadStatic]
    private static List<IThreadPoolWorkItem>? t_pending;

    [ThreadStatic]
    private static bool t_open;

    /// <summary>Opens a batch on this thread; returns false when one is already open (the outer one will run the wakes).</summary>
    public static bool Open()
    {
        if (t_open)
        {
            return false;
        }

        t_open = true;
        return true;
    }

    /// <summary>Notes <paramref name="writer"/> to run when the open batch closes; false when no batch is open on this thread.</summary>
    public static bool TryDefer(IThreadPoolWorkItem writer)
    {
        if (!t_open)
        {
            return false;
        }

        (t_pending ??= new List<IThreadPoolWorkItem>(capacity: 16)).Add(writer);
        return true;
    }

    /// <summary>
    /// Runs every deferred wake, including those the running writers cause, then closes the batch. Call only when
    /// <see cref="Open"/> returned true.
    /// </summary>
    public static void Close()
    {
        List<IThreadPoolWorkItem>? pending = t_pending;
        try
        {
            if (pending is not null)
            {
                // By index: a writer that ends a connection may wake others, which join this list.
                for (int i = 0; i < pending.Count; i++)
                {
                    pending[i].Execute();
                }
            }
        }
        finally
        {
            pending?.Clear();
            t_open = false;
        }
    }
}
