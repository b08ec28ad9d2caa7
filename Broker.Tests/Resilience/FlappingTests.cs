using System.Text.Json;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Server;
using Broker.Tests.Http;
using Broker.Tests.TestSupport;
using static Broker.Tests.Security.SecurityTestSupport;

namespace Broker.Tests.Resilience;

/// <summary>
/// Flapping detection (EMQX 4.4 <c>enable_flapping_detect</c> + <c>flapping_detect_policy = 30, 1m, 5m</c>): a client id
/// that disconnects too often within the window is banned by clientid, visible in <c>/api/v4/banned</c>.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class FlappingTests
{
    [Test]
    public async Task ClientThatDisconnectsTooOften_IsBanned_ListedByFlappingDetector_AndRefused()
    {
        await using var api = new ApiHarness(o =>
        {
            o.EnableFlappingDetect = true;
            o.FlappingDetectPolicy = new FlappingPolicy(3, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
        });
        long now = api.Test.Time.GetUtcNow().ToUnixTimeSeconds();
        for (int i = 0; i < 3; i++)
        {
            PipeClient client = await api.ConnectAsync("flappy");
            Assert.That(client.ConnAck!.ReasonCode, Is.EqualTo(ReasonCode.Success), $"connect {i + 1} is admitted");
            await client.DropAndWaitAsync();
        }

        JsonElement list = await api.GetAsync("/api/v4/banned");
        Assert.That(list.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
        JsonElement ban = list.GetProperty("data")[0];
        Assert.That(ban.GetProperty("who").GetString(), Is.EqualTo("flappy"));
        Assert.That(ban.GetProperty("as").GetString(), Is.EqualTo("clientid"));
        Assert.That(ban.GetProperty("by").GetString(), Is.EqualTo("flapping detector"));
        Assert.That(ban.GetProperty("reason").GetString(), Is.EqualTo("flapping is detected"));
        Assert.That(ban.GetProperty("until").GetInt64(), Is.EqualTo(now + 300));

        Assert.That(await ConnectCodeAsync(api.Test, ProtocolVersion.V500, "flappy"), Is.EqualTo(0x8A), "v5: Banned");
        Assert.That(await ConnectCodeAsync(api.Test, ProtocolVersion.V311, "flappy"), Is.EqualTo(0x05), "3.1.1: Not authorized");
        Assert.That(await ConnectCodeAsync(api.Test, ProtocolVersion.V500, "steady"), Is.Zero, "other client ids are not affected");

        api.Test.Advance(TimeSpan.FromSeconds(301));
        Assert.That(await ConnectCodeAsync(api.Test, ProtocolVersion.V500, "flappy"), Is.Zero, "the ban ends after the ban time");
    }

    [Test]
    public async Task DisconnectsSpreadOverMoreThanTheWindow_AreNotFlapping_AndRecordsExpire()
    {
        await using var broker = new TestBroker(o =>
        {
            o.EnableFlappingDetect = true;
            o.FlappingDetectPolicy = new FlappingPolicy(3, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5));
        });
        for (int i = 0; i < 6; i++)
        {
            PipeClient client = await broker.ConnectAsync("slow-flapper");
            Assert.That(client.ConnAck!.ReasonCode, Is.EqualTo(ReasonCode.Success), $"connect {i + 1}");
            await client.DisconnectAndWaitAsync();
            broker.Advance(TimeSpan.FromSeconds(6));
        }

        Assert.That(broker.Broker.Banned.Count, Is.Zero);
        Assert.That(broker.Broker.Flapping.TrackedCount, Is.LessThanOrEqualTo(1));
        broker.Advance(TimeSpan.FromSeconds(11));
        Assert.That(broker.Broker.Flapping.TrackedCount, Is.Zero, "a record lives at most a window past its start");
    }

    // EMQX 4.4 ships with enable_flapping_detect = off.
    [Test]
    public async Task Off_ByDefault_NothingTrackedOrBanned()
    {
        await using var broker = new TestBroker();
        for (int i = 0; i < 40; i++)
        {
            PipeClient client = await broker.ConnectAsync("c");
            await client.DropAndWaitAsync();
        }

        Assert.That(broker.Broker.Flapping.Policy, Is.Null);
        Assert.That(broker.Broker.Flapping.TrackedCount, Is.Zero);
        Assert.That(broker.Broker.Banned.Count, Is.Zero);
    }

    [TestCase("30,1m,5m", 30, 60, 300)]
    [TestCase("30, 1m, 5m", 30, 60, 300)]       // EMQX's own spelling, with spaces
    [TestCase("5,30s,2h", 5, 30, 7200)]
    [TestCase("1,10,20", 1, 10, 20)]             // bare numbers are seconds
    public void Policy_ParsedFromTheCommandLine(string value, int count, int windowSeconds, int banSeconds)
    {
        CommandLineResult result = CommandLine.Parse(["--enable-flapping-detect", "true", "--flapping-detect-policy", value]);

        Assert.That(result.Error, Is.Null);
        Assert.That(result.Options!.Broker.EnableFlappingDetect, Is.True);
        Assert.That(result.Options.Broker.FlappingDetectPolicy, Is.EqualTo(new FlappingPolicy(count, TimeSpan.FromSeconds(windowSeconds), TimeSpan.FromSeconds(banSeconds))));
    }

    [TestCase("30,1m")]          // two parts
    [TestCase("0,1m,5m")]        // no disconnect count
    [TestCase("30,-1m,5m")]      // negative window
    [TestCase("30,1m,5x")]       // unknown unit
    [TestCase("x,1m,5m")]        // count not a number
    public void BadPolicy_IsAClearError(string value)
    {
        CommandLineResult result = CommandLine.Parse(["--flapping-detect-policy", value]);

        Assert.That(result.Error, Does.Contain("flapping-detect-policy"));
    }
}
