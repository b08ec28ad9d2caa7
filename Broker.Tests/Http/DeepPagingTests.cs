using System.Diagnostics;
using System.Text.Json;
using Broker.Core.Protocol;

namespace Broker.Tests.Http;

[TestFixture]
public sealed class DeepPagingTests
{
    [Test, CancelAfter(60_000), Explicit("Timing probe, not a regression test: prints how long a deep page takes.")]
    public async Task DeepPage_Of200kSubscriptions()
    {
        await using var api = new ApiHarness();
        for (int c = 0; c < 20; c++)
        {
            string clientId = "c" + c;
            await api.ConnectAsync(clientId);
            for (int i = 0; i < 10_000; i++)
            {
                api.Broker.Subscribe(clientId, $"t/{c}/{i}", QualityOfService.AtMostOnce);
            }
        }

        await api.GetAsync("/api/v4/subscriptions?_page=10000&_limit=20");
        var snap = Stopwatch.StartNew();
        int n = api.Broker.GetSubscriptions().Count;
        TestContext.Out.WriteLine($"GetSubscriptions {n}: {snap.ElapsedMilliseconds} ms");
        var watch = Stopwatch.StartNew();
        JsonElement page = await api.GetAsync("/api/v4/subscriptions?_page=10000&_limit=20");
        TestContext.Out.WriteLine($"page 10000 of 200k: {watch.ElapsedMilliseconds} ms");
        Assert.That(page.GetProperty("data").GetArrayLength(), Is.EqualTo(20));
    }
}
