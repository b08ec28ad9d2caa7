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

    /// <summary>As above; if the test's time runs out first, fails with <paramref name="describe"/>'s account of the state it saw.</summary>
    public static async Task UntilAsync(Func<bool> condition, Func<string> describe, CancellationToken cancellationToken)
    {
        try
        {
            await UntilAsync(condition, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Assert.Fail("Still waiting when the test's time ran out: " + describe());
        }
    }
}
