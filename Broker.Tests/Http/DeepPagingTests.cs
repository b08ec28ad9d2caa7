using System.Text.Json;
using Broker.Core.Protocol;

namespace Broker.Tests.Http;

/// <summary>
/// Unfiltered <c>/subscriptions</c> pages are cut from the session table without building the rows before them
/// (<see cref="Broker.Core.MqttBroker.GetSubscriptionsPage"/>); paging through must still show every subscription once.
/// How long a deep page takes is measured by Broker.Bench's <c>SubscriptionPageBench</c>, not here.
/// </summary>
[TestFixture]
public sealed class DeepPagingTests
{
    [TestCase("/api/v4/subscriptions")]
    [TestCase("/api/v3/subscriptions")]
    public async Task PagingThroughEverySubscription_ShowsEachOnce_WithTheTotalAndHasNext(string path)
    {
        await using var api = new ApiHarness();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (int c = 0; c < 4; c++)
        {
            string clientId = "c" + c;
            await api.ConnectAsync(clientId);
            for (int i = 0; i < 25 + c; i++)
            {
                api.Broker.Subscribe(clientId, $"t/{c}/{i}", QualityOfService.AtLeastOnce);
                expected.Add($"{clientId} t/{c}/{i}");
            }
        }

        // v4: {"data":[…],"meta":{…,"hasnext"}}; v3: {"items":[…],"meta":{"page","limit","count"}}.
        bool v3 = path.Contains("/v3/", StringComparison.Ordinal);
        var seen = new List<string>();
        for (int pageNumber = 1; ; pageNumber++)
        {
            JsonElement body = await api.GetAsync($"{path}?_page={pageNumber}&_limit=7");
            JsonElement meta = body.GetProperty("meta");
            JsonElement rows = body.GetProperty(v3 ? "items" : "data");
            Assert.That(meta.GetProperty("count").GetInt64(), Is.EqualTo(expected.Count));
            foreach (JsonElement row in rows.EnumerateArray())
            {
                string clientId = row.GetProperty(v3 ? "client_id" : "clientid").GetString()!;
                seen.Add($"{clientId} {row.GetProperty("topic").GetString()}");
            }

            bool last = seen.Count >= expected.Count;
            if (!v3)
            {
                Assert.That(meta.GetProperty("hasnext").GetBoolean(), Is.EqualTo(!last));
            }

            if (last || rows.GetArrayLength() == 0)
            {
                Assert.That(rows.GetArrayLength(), Is.EqualTo(expected.Count - ((pageNumber - 1) * 7)));
                break;
            }
        }

        Assert.That(seen, Is.EquivalentTo(expected));
    }

    [Test]
    public async Task APageBeyondTheEnd_IsEmpty_WithTheTotal()
    {
        await using var api = new ApiHarness();
        await api.ConnectAsync("only");
        api.Broker.Subscribe("only", "a/b", QualityOfService.AtMostOnce);

        JsonElement body = await api.GetAsync("/api/v4/subscriptions?_page=10000&_limit=20");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(body.GetProperty("data").GetArrayLength(), Is.Zero);
            Assert.That(body.GetProperty("meta").GetProperty("count").GetInt64(), Is.EqualTo(1));
            Assert.That(body.GetProperty("meta").GetProperty("hasnext").GetBoolean(), Is.False);
        }
    }
}
