using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Core.Sessions;

namespace Broker.Bench.Sessions;

/// <summary>
/// <see cref="SessionTable.Find"/> by client id among <see cref="Sessions"/> sessions. The ids looked up are copies of
/// the stored strings, as a CONNECT decodes a fresh string, so every hit compares characters.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: the broker is disposed in [GlobalCleanup].")]
public class SessionTableBench
{
    private const int Batch = 100;

    private readonly MqttBroker _broker = new(new BrokerOptions { SysTopicsEnabled = false });
    private SessionTable _table = null!;
    private string[] _hits = [];
    private string[] _misses = [];

    [Params(10_000)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _table = new SessionTable();
        DateTimeOffset now = DateTimeOffset.UnixEpoch;
        for (int i = 0; i < Sessions; i++)
        {
            _table.Set(new Session(_broker, $"sensor-client-{i:D6}", now));
        }

        _hits = new string[Batch];
        _misses = new string[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _hits[i] = new string($"sensor-client-{i * (Sessions / Batch):D6}".AsSpan());
            _misses[i] = $"unknown-client-{i:D6}";
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _broker.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public int FindHit()
    {
        int found = 0;
        foreach (string id in _hits)
        {
            found += _table.Find(id) is null ? 0 : 1;
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int FindMiss()
    {
        int found = 0;
        foreach (string id in _misses)
        {
            found += _table.Find(id) is null ? 0 : 1;
        }

        return found;
    }

    /// <summary>The striped lock CONNECT takes for a client id: one more hash of the string.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int GetLock()
    {
        int n = 0;
        foreach (string id in _hits)
        {
            n += _table.GetLock(id).GetHashCode() & 1;
        }

        return n;
    }
}
