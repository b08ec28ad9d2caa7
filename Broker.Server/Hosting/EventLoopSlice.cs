using System.Globalization;
using System.Runtime.InteropServices;

namespace Broker.Server.Hosting;

/// <summary>
/// Asks Linux for a short scheduling slice on the runtime's socket event-loop threads (<c>.NET Sockets</c>), the
/// threads that decode, route and send when <c>--inline-io</c> is on.
/// </summary>
/// <remarks>
/// Since Linux 6.12 the fair scheduler (EEVDF) takes <c>sched_attr.sched_runtime</c> of a <c>SCHED_OTHER</c> thread as
/// its requested slice, clamped to 0.1-100 ms. The slice does not change the thread's share of the CPU (its nice
/// value and weight stay), only how soon it runs: a waking thread with a shorter slice than the running one preempts
/// it at once instead of waiting for that thread's slice (about 1.4 ms by default) to run out.
/// <para>
/// Measured with <c>perf sched timehist</c> on the 2-core VM, broker pinned to core 0, 1,000 msg/s: with the default
/// slice the event loop waited up to 1.8 ms after its wake-up, 24 times in 10 s, behind a kernel thread
/// (<c>kdamond</c>) that runs about 1.4 ms every half second; with a 0.1 ms slice it waited behind it once
/// (<c>Broker.Bench/results/latency.md</c>). Only the event loops are changed: the thread pool's work (management API,
/// rules, storage) keeps the default, so a burst of it still yields to them.
/// </para>
/// Older kernels accept the request and ignore it; that is detected by reading it back, and nothing else changes.
/// </remarks>
internal static class EventLoopSlice
{
    private const string EventLoopThreadName = ".NET Sockets";
    private const int SchedAttrSize = 48;   // SCHED_ATTR_SIZE_VER0
    private const ulong ResetOnFork = 0x01;  // SCHED_FLAG_RESET_ON_FORK

    /// <summary>
    /// Requests <paramref name="slice"/> for every socket event-loop thread that exists now (the runtime starts them all
    /// on its first socket operation). Returns how many took it, or null when the platform or kernel has no slices.
    /// </summary>
    public static int? Apply(TimeSpan slice)
    {
        if (!OperatingSystem.IsLinux() || SyscallNumbers() is not (long getAttr, long setAttr))
        {
            return null;
        }

        ulong nanoseconds = (ulong)(slice.Ticks * 100);
        int applied = 0;
        bool ignored = false;
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out int threadId) || !IsEventLoop(task))
            {
                continue;
            }

            var attributes = default(SchedAttr);
            if (GetAttr(getAttr, threadId, ref attributes) != 0 || attributes.Policy != 0)
            {
                continue;   // gone, or not SCHED_OTHER (someone chose a policy for it: leave it)
            }

            attributes.Size = SchedAttrSize;
            attributes.Flags &= ResetOnFork;   // utilisation-clamp flags would need the larger struct
            attributes.Runtime = nanoseconds;
            if (SetAttr(setAttr, threadId, ref attributes) != 0 || GetAttr(getAttr, threadId, ref attributes) != 0)
            {
                continue;
            }

            if (attributes.Runtime == nanoseconds)
            {
                applied++;
            }
            else
            {
                ignored = true;
            }
        }

        return ignored && applied == 0 ? null : applied;
    }

    private static bool IsEventLoop(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == EventLoopThreadName;
        }
        catch (IOException)
        {
            return false;   // the thread exited meanwhile
        }
    }

    private static (long GetAttr, long SetAttr)? SyscallNumbers() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => (315, 314),
        Architecture.Arm64 => (275, 274),
        _ => null,
    };

    private static long GetAttr(long number, int threadId, ref SchedAttr attributes)
        => Syscall(number, threadId, ref attributes, SchedAttrSize, 0);

    private static long SetAttr(long number, int threadId, ref SchedAttr attributes)
        => Syscall(number, threadId, ref attributes, 0, 0);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long Syscall(long number, long threadId, ref SchedAttr attributes, long sizeOrFlags, long flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedAttr
    {
        public uint Size;
        public uint Policy;
        public ulong Flags;
        public int Nice;
        public uint Priority;
        public ulong Runtime;
        public ulong Deadline;
        public ulong Period;
    }
}
