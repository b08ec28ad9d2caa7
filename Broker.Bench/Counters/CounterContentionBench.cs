using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Broker.Core.Metrics;

namespace Broker.Bench.Counters;

/// <summary>
/// Per-core <see cref="BrokerCounters"/> against one shared <see cref="Interlocked.Increment(ref long)"/> field, from
/// one thread and from one thread per processor.
/// </summary>
/// <remarks>
/// Each invocation performs <see cref="TotalIncrements"/> increments split evenly across <see cref="Threads"/>
/// dedicated threads that start together on a barrier, so the reported time per operation is wall-clock time per
/// increment for the whole machine: 1 ns/op = 1 G increments/s. A counter that scales shows a lower time with more
/// threads; a contended one shows a higher time, because its cache line moves between cores on every increment.
/// </remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: the barriers are disposed in [GlobalCleanup].")]
public class CounterContentionBench
{
    private const int TotalIncrements = 1 << 20;

    private readonly BrokerCounters _counters = new();
    private readonly SharedCell _shared = new();
    private Thread[] _workers = [];
    private Barrier? _start;
    private Barrier? _done;
    private Action<int>? _work;
    private volatile bool _stopping;

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    public static IEnumerable<int> ThreadCounts() =>
        Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    [GlobalSetup]
    public void Setup()
    {
        _start = new Barrier(Threads);
        _done = new Barrier(Threads);
        _workers = new Thread[Threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"bench-worker-{i}" };
            _workers[i].Start();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        _start!.SignalAndWait();
        foreach (Thread worker in _workers)
        {
            worker.Join();
        }

        _start.Dispose();
        _done!.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = TotalIncrements)]
    public void SharedInterlocked() => Run(static (bench, count) =>
    {
        for (int i = 0; i < count; i++)
        {
            Interlocked.Increment(ref bench._shared.Value);
        }
    });

    [Benchmark(OperationsPerInvoke = TotalIncrements)]
    public void PerCoreCounters() => Run(static (bench, count) =>
    {
        BrokerCounters counters = bench._counters;
        for (int i = 0; i < count; i++)
        {
            counters.Increment(CounterId.PacketsPublishReceived);
        }
    });

    // The caller is one of the Threads participants; the delegate is invoked once per thread per invocation, not per increment.
    private void Run(Action<CounterContentionBench, int> loop)
    {
        int perThread = TotalIncrements / Threads;
        _work = count => loop(this, count);
        _start!.SignalAndWait();
        _work(perThread);
        _done!.SignalAndWait();
    }

    private void WorkerLoop()
    {
        int perThread = TotalIncrements / Threads;
        while (true)
        {
            _start!.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            _work!(perThread);
            _done!.SignalAndWait();
        }
    }

    // The shared field gets a 128-byte cell of its own, so the baseline measures contention on the counter alone.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)]
        public long Value;
    }

    private sealed class SharedCell
    {
        private PaddedLong _cell;

        public ref long Value => ref _cell.Value;
    }
}
