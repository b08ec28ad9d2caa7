namespace Broker.Bench.Load;

/// <summary>
/// The measured interval in <see cref="System.Diagnostics.Stopwatch"/> ticks, shared by the receive loops: a delivery
/// counts toward the latency percentiles only if it arrives inside it. Written by the run, read by every loop.
/// </summary>
internal sealed class MeasureWindow
{
    private long _start = long.MaxValue;
    private long _end = long.MaxValue;

    public long Start => Volatile.Read(ref _start);

    public long End => Volatile.Read(ref _end);

    public void Open(long timestamp) => Volatile.Write(ref _start, timestamp);

    public void Close(long timestamp) => Volatile.Write(ref _end, timestamp);

    public bool Contains(long timestamp) => timestamp >= Volatile.Read(ref _start) && timestamp < Volatile.Read(ref _end);
}
