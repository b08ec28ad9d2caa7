using Broker.Server.Hosting;
using Broker.Transport.Tcp;

namespace Broker.Tests.Server;

[TestFixture]
public sealed class JitWarmupTests
{
    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(20_000)]
    public async Task Warmup_CompletesEveryExchange_InBothProtocolVersions(bool inlineScheduling)
    {
        // The raw client checks every answer (CONNACK accepted, SUBACK, the retained message, QoS 0/1/2 both ways,
        // PINGRESP, UNSUBACK) and reports the first one that differs, so a change in the broker shows here.
        (TimeSpan elapsed, string? failure) = await JitWarmup.RunAsync(new SocketListenerOptions { PreferInlineScheduling = inlineScheduling });

        Assert.That(failure, Is.Null);
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }
}
