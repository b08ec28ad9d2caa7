using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Broker.Core.Metrics;

/// <summary>Throw helpers that keep the throw sites out of the inlined counter paths.</summary>
internal static class MetricsThrow
{
    [DoesNotReturn, StackTraceHidden]
    public static void InvalidCounter(CounterId id) => throw CreateInvalidCounter(id);

    [DoesNotReturn, StackTraceHidden]
    public static void InvalidStat(StatId id) => throw CreateInvalidStat(id);

    [DoesNotReturn, StackTraceHidden]
    public static void NotAGauge(CounterId id) => throw CreateNotAGauge(id);

    [DoesNotReturn, StackTraceHidden]
    public static void DestinationTooShort(int required, string paramName) => throw CreateDestinationTooShort(required, paramName);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ArgumentOutOfRangeException CreateInvalidCounter(CounterId id) =>
        new(nameof(id), id, "Not a defined CounterId.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ArgumentOutOfRangeException CreateInvalidStat(StatId id) =>
        new(nameof(id), id, "Not a defined StatId.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ArgumentException CreateNotAGauge(CounterId id) =>
        new($"{id} is an event counter; only gauges (BrokerCounters.IsGauge) can be set.", nameof(id));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ArgumentException CreateDestinationTooShort(int required, string paramName) =>
        new($"The destination must hold at least {required} values.", paramName);
}
