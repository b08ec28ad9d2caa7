namespace Broker.Bench.Load;

/// <summary>What one run measured; NaN or null where a figure does not apply (no broker pid, QoS 0 acks, idle).</summary>
internal sealed class LoadResult
{
    public required LoadOptions Options { get; init; }

    public double WindowSeconds { get; set; }

    public double PublishedPerSecond { get; set; } = double.NaN;

    public double DeliveredPerSecond { get; set; } = double.NaN;

    /// <summary>Deliveries the subscribers should have seen over the whole run (warm-up included).</summary>
    public long Expected { get; set; }

    public long Delivered { get; set; }

    public long Lost { get; set; }

    /// <summary>QoS 1/2: messages the broker acknowledged to their publisher that no subscriber received.</summary>
    public long? AcknowledgedLost { get; set; }

    public long Acknowledged { get; set; }

    public long Rejected { get; set; }

    public long Duplicates { get; set; }

    public long WrongSize { get; set; }

    public long Foreign { get; set; }

    public long Gaps { get; set; }

    public double LatencyP50Microseconds { get; set; } = double.NaN;

    public double LatencyP99Microseconds { get; set; } = double.NaN;

    public double LatencyP999Microseconds { get; set; } = double.NaN;

    public double LatencyMaxMicroseconds { get; set; } = double.NaN;

    public long LatencySamples { get; set; }

    public double ToolCpuPercent { get; set; } = double.NaN;

    public double BrokerCpuPercent { get; set; } = double.NaN;

    public long? BrokerRssBytes { get; set; }

    /// <summary>Idle: connections opened, per second, and broker RSS before and after.</summary>
    public int Connections { get; set; }

    public double ConnectsPerSecond { get; set; } = double.NaN;

    public long? BrokerRssBeforeBytes { get; set; }

    public double LossPercent => Expected == 0 ? 0 : 100.0 * Lost / Expected;

    public List<string> Problems { get; } = [];
}
