using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Broker.Bench.Load;

/// <summary>
/// Paces publishers under <c>--rate</c> from one dedicated thread that sleeps to absolute deadlines, one tick per
/// message interval (at most every 50 µs), and at each tick raises every publisher's allowance to what its share of
/// the rate allows by now. The publisher's send loop resumes inline on this thread and sends at once.
/// <para>
/// Why not <c>Task.Delay(1)</c>: .NET's timer queue runs on <see cref="Environment.TickCount64"/>, which on Linux is
/// <c>CLOCK_MONOTONIC_COARSE</c>, one jiffy wide (4 ms with HZ=250). Measured on the 2-core VM, a "1,000 msg/s" run
/// paced that way sent bursts of 4 messages every 4 ms. On Linux the sleep here is
/// <c>clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)</c> on the same clock as <see cref="Stopwatch"/>, so the
/// schedule does not drift; elsewhere it sleeps whole milliseconds and spins the rest.
/// </para>
/// </summary>
internal sealed class RatePacer : IDisposable
{
    private const long MinimumIntervalNanoseconds = 50_000;
    private const int ClockMonotonic = 1;
    private const int TimerAbsoluteTime = 1;

    private static readonly bool s_absoluteSleep = OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000;

    private readonly IReadOnlyList<Publisher> _publishers;
    private readonly double _ratePerPublisher;
    private readonly long _interval;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public RatePacer(IReadOnlyList<Publisher> publishers, double totalRate)
    {
        _publishers = publishers;
        _ratePerPublisher = totalRate / Math.Max(1, publishers.Count);
        _interval = Math.Max(MinimumIntervalNanoseconds * Stopwatch.Frequency / 1_000_000_000, (long)(Stopwatch.Frequency / totalRate));
        _thread = new Thread(Run) { IsBackground = true, Name = "load rate pacer" };
    }

    public void Start() => _thread.Start();

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        long start = Stopwatch.GetTimestamp();
        long next = start;
        while (!_stopping)
        {
            SleepUntil(next);
            long now = Stopwatch.GetTimestamp();
            long allowed = (long)((now - start) * _ratePerPublisher / Stopwatch.Frequency) + 1;
            foreach (Publisher publisher in _publishers)
            {
                publisher.Allow(allowed);
            }

            // After a stall, the next deadline is the next one still ahead: the allowance above already covers the
            // ticks missed, so the publishers catch up in one batch instead of one tick after another.
            next = start + ((now - start) / _interval + 1) * _interval;
        }
    }

    private static void SleepUntil(long deadline)
    {
        if (s_absoluteSleep)
        {
            var request = new Timespec { Seconds = deadline / 1_000_000_000, Nanoseconds = deadline % 1_000_000_000 };
            while (ClockNanosleep(ClockMonotonic, TimerAbsoluteTime, in request, IntPtr.Zero) != 0)
            {
                // EINTR: the deadline is absolute, so sleeping again is exact
            }

            return;
        }

        long remaining;
        while ((remaining = deadline - Stopwatch.GetTimestamp()) > 0)
        {
            if (remaining > 2 * Stopwatch.Frequency / 1000)
            {
                Thread.Sleep(1);
            }
            else
            {
                Thread.SpinWait(64);
            }
        }
    }

    [DllImport("libc", EntryPoint = "clock_nanosleep")]
    private static extern int ClockNanosleep(int clockId, int flags, in Timespec request, IntPtr remaining);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
