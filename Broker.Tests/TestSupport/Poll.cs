namespace Broker.Tests.TestSupport;

/// <summary>Waits for a condition another thread makes true (a counter settling), checking every few milliseconds.</summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            // The test's [CancelAfter] bounds the wait; the delay only spaces the checks out.
            await Task.Delay(5, cancellationToken);
        }
    }
}
