using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Broker.Bench.Load;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Soak;

/// <summary>
/// <c>Broker.Bench soak [options]</c>: minutes of hostile, mixed load against any MQTT broker. Thousands of idle
/// connections, churn (connect, subscribe, publish, then DISCONNECT or a reset), slow consumers of a QoS 0 stream,
/// malformed clients (garbage, bad packets, half-open sockets), and well-behaved QoS 1/2 pairs whose every
/// acknowledged message is checked at the end. Prints the broker's RSS and CPU and its dropped counters over time.
/// Exit codes: 0 every acknowledged QoS 1/2 message was received (and QoS 2 exactly once), 1 otherwise, 2 bad usage,
/// 3 the broker could not be reached.
/// </summary>
internal static class SoakCommand
{
    public static async Task<int> RunAsync(ReadOnlyMemory<string> args)
    {
        SoakOptions options;
        try
        {
            options = SoakOptions.Parse(args.Span);
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync($"soak: {ex.Message}\n{SoakOptions.Usage}").ConfigureAwait(false);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var endPoint = new IPEndPoint(IPAddress.Parse(options.Host), options.Port);
        var counters = new SoakCounters();
        using var api = options.Api is null ? null : new ApiProbe(options.Api, options.ApiAuth);
        ProcessSampler? sampler = options.BrokerPid > 0 ? new ProcessSampler(options.BrokerPid) : null;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak against {endPoint} for {options.DurationSeconds} s: {options.Idle} idle, {options.Churners} churners, {options.Slow} slow consumers ({options.SlowRate} msg/s of 1 KB QoS 0), {options.Malformed} malformed loops, {options.Pairs} QoS 1/2 pairs at {options.Rate} msg/s each"));
        var pairs = new List<SoakPair>();
        var held = new List<MqttLoadConnection>();
        try
        {
            for (int i = 0; i < options.Pairs; i++)
            {
                QualityOfService qos = i % 2 == 0 ? QualityOfService.AtLeastOnce : QualityOfService.ExactlyOnce;
                pairs.Add(await SoakPair.StartAsync(endPoint, i, qos, cancel.Token).ConfigureAwait(false));
            }

            for (int i = 0; i < options.Slow; i++)
            {
                MqttLoadConnection slow = await MqttLoadConnection.ConnectAsync(endPoint, "soak-slow-" + i, ProtocolVersion.V500, 4096, 0, cancel.Token).ConfigureAwait(false);
                await slow.SubscribeAsync("soak/slow", QualityOfService.AtMostOnce, cancel.Token).ConfigureAwait(false);
                held.Add(slow);
            }

            await OpenIdleAsync(endPoint, options.Idle, held, counters, cancel.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"soak: set-up failed: {ex.Message}").ConfigureAwait(false);
            return 3;
        }

        using var load = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
        var tasks = new List<Task>();
        foreach (SoakPair pair in pairs)
        {
            tasks.Add(pair.RunPublisherAsync(options.Rate, load.Token));
        }

        for (int i = 0; i < options.Slow; i++)
        {
            tasks.Add(ReadSlowlyAsync(held[i], counters, load.Token));
        }

        if (options.Slow > 0)
        {
            tasks.Add(FeedSlowAsync(endPoint, options.SlowRate, counters, load.Token));
        }

        for (int i = 0; i < options.Churners; i++)
        {
            tasks.Add(ChurnAsync(endPoint, i, counters, load.Token));
        }

        for (int i = 0; i < options.Malformed; i++)
        {
            tasks.Add(MalformedAsync(endPoint, i, counters, load.Token));
        }

        var clock = Stopwatch.StartNew();
        Console.WriteLine();
        Console.WriteLine("| t (s) | broker RSS (MB) | broker CPU % | connections | churn conn. | malformed (closed by broker) | slow msgs read | pairs sent / acked / received | delivery.dropped | .qos0_msg | .queue_full |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        ProcessSample? last = sampler?.TrySample();
        TimeSpan lastAt = clock.Elapsed;
        long peakRss = last?.RssBytes ?? 0;
        while (clock.Elapsed.TotalSeconds < options.DurationSeconds && !cancel.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.SampleSeconds), cancel.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            ProcessSample? now = sampler?.TrySample();
            peakRss = Math.Max(peakRss, now?.RssBytes ?? 0);
            await PrintRowAsync(clock.Elapsed, last, lastAt, now, pairs, counters, api).ConfigureAwait(false);
            last = now;
            lastAt = clock.Elapsed;
        }

        await load.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or SocketException)
        {
        }

        // The drain: every published QoS 1/2 message acknowledged, then received.
        Console.WriteLine();
        Console.WriteLine("Draining the QoS 1/2 pairs (up to 60 s without progress)...");
        await DrainAsync(pairs).ConfigureAwait(false);
        await PrintRowAsync(clock.Elapsed, last, lastAt, sampler?.TrySample(), pairs, counters, api).ConfigureAwait(false);

        long sent = 0, acked = 0, lost = 0, duplicates = 0, unacked = 0;
        foreach (SoakPair pair in pairs)
        {
            sent += pair.Sent;
            acked += pair.Acked;
            unacked += pair.Sent - pair.Acked;
            lost += pair.Lost;
            duplicates += pair.QoS == QualityOfService.ExactlyOnce ? pair.Duplicates : 0;
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Peak broker RSS: {peakRss / (1024.0 * 1024):F0} MB. Churn: {counters.ChurnConnects} connects ({counters.ChurnErrors} failed). Malformed: {counters.MalformedSent} sent, {counters.MalformedClosed} closed by the broker, {counters.HalfOpen} half-open."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"QoS 1/2 pairs: {sent} published, {acked} acknowledged, {unacked} never acknowledged, {lost} acknowledged but not received, {duplicates} QoS 2 duplicates."));
        bool clean = lost == 0 && duplicates == 0 && unacked == 0;
        Console.WriteLine(clean
            ? "VERDICT: PASS: every well-behaved QoS 1/2 message was received (QoS 2 exactly once)."
            : "VERDICT: FAIL: well-behaved QoS 1/2 messages were lost, duplicated or never acknowledged.");

        foreach (SoakPair pair in pairs)
        {
            pair.Dispose();
        }

        foreach (MqttLoadConnection connection in held)
        {
            connection.Abort();
        }

        return clean ? 0 : 1;
    }

    private static async Task OpenIdleAsync(IPEndPoint endPoint, int count, List<MqttLoadConnection> held, SoakCounters counters, CancellationToken cancellationToken)
    {
        const int Parallel = 64;
        for (int start = 0; start < count; start += Parallel)
        {
            var batch = new List<Task<MqttLoadConnection>>();
            for (int i = start; i < Math.Min(count, start + Parallel); i++)
            {
                batch.Add(MqttLoadConnection.ConnectAsync(endPoint, "soak-idle-" + i, ProtocolVersion.V311, 256, 0, cancellationToken));
            }

            foreach (Task<MqttLoadConnection> task in batch)
            {
                held.Add(await task.ConfigureAwait(false));
                counters.IdleOpen++;
            }
        }
    }

    private static async Task ReadSlowlyAsync(MqttLoadConnection connection, SoakCounters counters, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return;
                }

                while (connection.TryReadFrame(out FixedHeader header))
                {
                    connection.Consume(header);
                    Interlocked.Increment(ref counters.SlowReceived);
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
        }
    }

    private static async Task FeedSlowAsync(IPEndPoint endPoint, int rate, SoakCounters counters, CancellationToken cancellationToken)
    {
        using MqttLoadConnection feed = await MqttLoadConnection.ConnectAsync(endPoint, "soak-slow-feed", ProtocolVersion.V500, 4096, 0, cancellationToken).ConfigureAwait(false);
        byte[] packet = Encode(w => PacketEncoder.WritePublish(w, new OutgoingPublish { QoS = QualityOfService.AtMostOnce, TopicName = "soak/slow"u8, Payload = new byte[1024] }, ProtocolVersion.V500));
        int perTick = Math.Max(1, rate / 20);
        byte[] batch = new byte[packet.Length * perTick];
        for (int i = 0; i < perTick; i++)
        {
            packet.CopyTo(batch, i * packet.Length);
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await feed.SendAsync(batch, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref counters.SlowFed, perTick);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
        }
    }

    private static async Task ChurnAsync(IPEndPoint endPoint, int index, SoakCounters counters, CancellationToken cancellationToken)
    {
        byte[] publish = Encode(w => PacketEncoder.WritePublish(w, new OutgoingPublish { QoS = QualityOfService.AtMostOnce, TopicName = Encoding.UTF8.GetBytes("soak/churn/" + index), Payload = new byte[64] }, ProtocolVersion.V500));
        byte[] disconnect = Encode(w => PacketEncoder.WriteDisconnect(w, new DisconnectPacket(), ProtocolVersion.V500));
        for (long n = 0; !cancellationToken.IsCancellationRequested; n++)
        {
            try
            {
                using MqttLoadConnection connection = await MqttLoadConnection.ConnectAsync(endPoint, string.Create(CultureInfo.InvariantCulture, $"soak-churn-{index}-{n % 50}"), n % 3 == 0 ? ProtocolVersion.V311 : ProtocolVersion.V500, 1024, 0, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref counters.ChurnConnects);
                await connection.SubscribeAsync("soak/churn/" + index, QualityOfService.AtLeastOnce, cancellationToken).ConfigureAwait(false);
                await connection.SendAsync(publish, cancellationToken).ConfigureAwait(false);
                if (n % 2 == 0)
                {
                    await connection.SendAsync(disconnect, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    connection.Abort();
                }

                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is SocketException or InvalidOperationException)
            {
                Interlocked.Increment(ref counters.ChurnErrors);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static async Task MalformedAsync(IPEndPoint endPoint, int index, SoakCounters counters, CancellationToken cancellationToken)
    {
        var random = new Random(index);
        for (long n = 0; !cancellationToken.IsCancellationRequested; n++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                byte[] connect = Encode(w => PacketEncoder.WriteConnect(w, new ConnectPacket { ProtocolVersion = ProtocolVersion.V500, ClientId = string.Create(CultureInfo.InvariantCulture, $"soak-bad-{index}-{n % 20}"), CleanStart = true }));
                byte[] bytes = (n % 4) switch
                {
                    0 => RandomBytes(random, 1 + random.Next(256)),                               // garbage from the first byte
                    1 => [.. connect, .. (byte[])[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]],           // a five-byte remaining length
                    2 => [.. connect, .. (byte[])[0x36, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x01, 0x00, 0x70]], // PUBLISH QoS 3
                    _ => connect[..(connect.Length / 2)],                                        // half a CONNECT, then silence
                };
                await socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref counters.MalformedSent);
                if (n % 4 == 3)
                {
                    Interlocked.Increment(ref counters.HalfOpen);
                    await Task.Delay(2000, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // 20 s: garbage that happens to start a frame waits for the rest until the 15 s idle timeout closes it.
                if (await ClosedWithinAsync(socket, TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref counters.MalformedClosed);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                // A reset is a close too.
                Interlocked.Increment(ref counters.MalformedClosed);
            }
        }
    }

    private static async Task<bool> ClosedWithinAsync(Socket socket, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        byte[] sink = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(sink, SocketFlags.None, cts.Token).ConfigureAwait(false) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task DrainAsync(List<SoakPair> pairs)
    {
        long progress = -1;
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < TimeSpan.FromSeconds(60))
        {
            long acked = 0, received = 0;
            bool done = true;
            foreach (SoakPair pair in pairs)
            {
                acked += pair.Acked;
                received += pair.ReceivedCount;
                done &= pair.Acked == pair.Sent && pair.Lost == 0;
            }

            if (done)
            {
                return;
            }

            if (acked + received != progress)
            {
                progress = acked + received;
                quiet.Restart();
            }

            await Task.Delay(250).ConfigureAwait(false);
        }
    }

    private static async Task PrintRowAsync(TimeSpan at, ProcessSample? last, TimeSpan lastAt, ProcessSample? now, List<SoakPair> pairs, SoakCounters counters, ApiProbe? api)
    {
        string rss = now is { } n ? (n.RssBytes / (1024.0 * 1024)).ToString("F0", CultureInfo.InvariantCulture) : "n/a";
        string cpu = now is { } a && last is { } b && at > lastAt
            ? (100 * (a.CpuTime - b.CpuTime).TotalSeconds / (at - lastAt).TotalSeconds).ToString("F0", CultureInfo.InvariantCulture)
            : "n/a";
        long sent = 0, acked = 0, received = 0;
        foreach (SoakPair pair in pairs)
        {
            sent += pair.Sent;
            acked += pair.Acked;
            received += pair.ReceivedCount;
        }

        Dictionary<string, long>? metrics = api is null ? null : await api.TryReadAsync().ConfigureAwait(false);
        string Metric(string name) => metrics is not null && metrics.TryGetValue(name, out long v) ? v.ToString(CultureInfo.InvariantCulture) : "n/a";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {at.TotalSeconds:F0} | {rss} | {cpu} | {Metric("connections.count")} | {counters.ChurnConnects} | {counters.MalformedSent} ({counters.MalformedClosed}) | {counters.SlowReceived} | {sent} / {acked} / {received} | {Metric("delivery.dropped")} | {Metric("delivery.dropped.qos0_msg")} | {Metric("delivery.dropped.queue_full")} |"));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    internal static byte[] Encode(Func<IBufferWriter<byte>, int> write)
    {
        var output = new ArrayBufferWriter<byte>(128);
        write(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads the broker's counters and stats from the EMQX v4 management API (<c>/api/v4/metrics</c>, <c>/api/v4/stats</c>).</summary>
    private sealed class ApiProbe : IDisposable
    {
        private readonly HttpClient _http;

        public ApiProbe(string baseAddress, string auth)
        {
            // HttpListener (managed, Linux) closes a keep-alive connection idle for 15 s: reuse one only well within that,
            // or a sample period near 15 s races the close and every other request fails.
            var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) };
            _http = new HttpClient(handler) { BaseAddress = new Uri(baseAddress + "/"), Timeout = TimeSpan.FromSeconds(10) };
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(auth)));
        }

        public async Task<Dictionary<string, long>?> TryReadAsync()
        {
            try
            {
                var values = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (string path in (string[])["api/v4/metrics", "api/v4/stats"])
                {
                    using JsonDocument document = JsonDocument.Parse(await _http.GetStringAsync(path).ConfigureAwait(false));
                    Collect(document.RootElement, values);
                }

                return values;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
            {
                return null;
            }
        }

        // Per-node objects of name -> number, summed over nodes.
        private static void Collect(JsonElement element, Dictionary<string, long> values)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out long value))
                    {
                        values[property.Name] = values.GetValueOrDefault(property.Name) + value;
                    }
                    else
                    {
                        Collect(property.Value, values);
                    }
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in element.EnumerateArray())
                {
                    Collect(item, values);
                }
            }
        }

        public void Dispose() => _http.Dispose();
    }

    /// <summary>Counters shared by the load loops.</summary>
    private sealed class SoakCounters
    {
        public long IdleOpen;
        public long ChurnConnects;
        public long ChurnErrors;
        public long SlowReceived;
        public long SlowFed;
        public long MalformedSent;
        public long MalformedClosed;
        public long HalfOpen;
    }
}
