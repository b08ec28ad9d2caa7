using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Tests.Http;

namespace Broker.Tests.Fuzz;

/// <summary>
/// Malformed requests to the HttpListener host over raw sockets: bad methods and request lines, huge headers and URLs,
/// huge, negative and non-numeric Content-Length, bodies that are not JSON, JSON of the wrong type in every field of
/// every POST/PUT route, invalid UTF-8, and slowloris connections. Each gets a 4xx (or the route's 200 with an error
/// code, as EMQX answers business errors), never a 5xx and never silence, and the host keeps serving others.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HttpHostFuzzTests
{
    private const string Auth = "Authorization: Basic YWRtaW46cHVibGlj\r\n";

    private static readonly int[] s_clientErrors = [400, 404, 405, 411, 413, 414, 431, 505];

    public static IEnumerable<TestCaseData> MalformedRequests()
    {
        static TestCaseData Case(string name, string request, params int[] allowed) => new TestCaseData(Encoding.UTF8.GetBytes(request), allowed).SetArgDisplayNames(name);
        static TestCaseData Raw(string name, byte[] request, params int[] allowed) => new TestCaseData(request, allowed).SetArgDisplayNames(name);

        yield return Case("unknown method", $"FROB /api/v4/brokers HTTP/1.1\r\nHost: x\r\n{Auth}Connection: close\r\n\r\n", 400, 404, 405, 501);
        yield return Case("method on a GET-only route", $"DELETE /api/v4/brokers HTTP/1.1\r\nHost: x\r\n{Auth}Connection: close\r\n\r\n", 404, 405);
        yield return Case("no HTTP version", "GET /api/v4/brokers\r\n\r\n", 400, 505);
        yield return Case("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, 404, 505);
        yield return Case("HTTP/9.9", $"GET /api/v4/brokers HTTP/9.9\r\nHost: x\r\n{Auth}Connection: close\r\n\r\n", 400, 505);
        yield return Case("garbage request line", "\u0001\u0002\u0003 \u0004 \u0005\r\n\r\n", 400);
        yield return Case("no Host in HTTP/1.1", $"GET /api/v4/brokers HTTP/1.1\r\n{Auth}Connection: close\r\n\r\n", 400);
        yield return Case("header without colon", $"GET /api/v4/brokers HTTP/1.1\r\nHost: x\r\n{Auth}NoColonHere\r\nConnection: close\r\n\r\n", 400);
        yield return Case("huge header (1 MB)", $"GET /api/v4/brokers HTTP/1.1\r\nHost: x\r\n{Auth}X-Big: {new string('a', 1024 * 1024)}\r\nConnection: close\r\n\r\n", 400, 431);
        yield return Case("20,000 headers", $"GET /api/v4/brokers HTTP/1.1\r\nHost: x\r\n{Auth}{string.Concat(Enumerable.Range(0, 20_000).Select(i => $"X-{i}: v\r\n"))}Connection: close\r\n\r\n", 400, 431);
        yield return Case("huge URL (200 KB)", $"GET /api/v4/clients/{new string('c', 200 * 1024)} HTTP/1.1\r\nHost: x\r\n{Auth}Connection: close\r\n\r\n", 200, 400, 404, 414, 431); // 200: an unknown client id is {"code":0,"data":[]} in EMQX
        yield return Case("bad percent-encoding", $"GET /api/v4/clients/%ZZ%E0%80 HTTP/1.1\r\nHost: x\r\n{Auth}Connection: close\r\n\r\n", 200, 400, 404);
        yield return Case("path traversal", $"GET /api/v4/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n{Auth}Connection: close\r\n\r\n", 400, 404);
        yield return Case("huge Content-Length", $"POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{{}}", 400, 413);
        yield return Case("negative Content-Length", $"POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nContent-Length: -5\r\nConnection: close\r\n\r\n{{}}", 400);
        yield return Case("non-numeric Content-Length", $"POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nContent-Length: ten\r\nConnection: close\r\n\r\n{{}}", 400);
        yield return Case("two Content-Lengths", $"POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{{}}", 400);
        yield return Case("chunked beyond the body limit", $"POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{string.Concat(Enumerable.Range(0, 40).Select(_ => "4000\r\n" + new string('x', 0x4000) + "\r\n"))}0\r\n\r\n", 413);
        yield return Case("broken chunk size", $"POST /api/v4/mqtt/publish HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZZ\r\n{{}}\r\n0\r\n\r\n", 400);
        yield return Case("broken JSON", Post("/api/v4/mqtt/publish", "{\"topic\":\"t\",\"payload\":"), 400);
        yield return Case("JSON nested 10,000 deep", Post("/api/v4/mqtt/publish", new string('[', 10_000) + new string(']', 10_000)), 200, 400);
        yield return Case("empty body", Post("/api/v4/mqtt/publish", ""), 200, 400);
        yield return Case("bad credentials", $"GET /api/v4/brokers HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!notbase64\r\nConnection: close\r\n\r\n", 400, 401);
        yield return Raw("invalid UTF-8 in JSON", Encoding.ASCII.GetBytes(Post("/api/v4/mqtt/publish", "{\"topic\":\"XX\",\"payload\":\"p\"}", 28)).Select(b => b == (byte)'X' ? (byte)0xC3 : b).ToArray(), 400);
        yield return Raw("NUL in a header", Encoding.ASCII.GetBytes($"GET /api/v4/brokers HTTP/1.1\r\nHost: x\r\n{Auth}X-N: a\0b\r\nConnection: close\r\n\r\n"), 200, 400);
    }

    /// <summary>Every POST/PUT route with a valid body, each field then given values of every other JSON type.</summary>
    public static IEnumerable<TestCaseData> WrongTypes()
    {
        (string Method, string Path, string Body)[] routes =
        [
            ("POST", "/api/v4/mqtt/publish", """{"topic":"t","payload":"p","qos":1,"retain":false,"clientid":"c","encoding":"plain"}"""),
            ("POST", "/api/v4/mqtt/publish_batch", """[{"topic":"t","payload":"p","qos":0}]"""),
            ("POST", "/api/v4/mqtt/subscribe", """{"topic":"t","qos":1,"clientid":"c"}"""),
            ("POST", "/api/v4/mqtt/subscribe_batch", """[{"topic":"t","qos":1,"clientid":"c"}]"""),
            ("POST", "/api/v4/mqtt/unsubscribe", """{"topic":"t","clientid":"c"}"""),
            ("POST", "/api/v4/mqtt/unsubscribe_batch", """[{"topic":"t","clientid":"c"}]"""),
            ("POST", "/api/v4/banned", """{"who":"x","as":"clientid","reason":"r","by":"b","until":1999999999}"""),
            ("POST", "/api/v4/auth_clientid", """{"clientid":"a","password":"p"}"""),
            ("PUT", "/api/v4/auth_clientid/a", """{"password":"p"}"""),
            ("POST", "/api/v4/auth_username", """{"username":"u","password":"p"}"""),
            ("PUT", "/api/v4/auth_username/u", """{"password":"p"}"""),
            ("POST", "/api/v4/auth_user", """{"login":"u","password":"p","is_superuser":false}"""),
            ("PUT", "/api/v4/auth_user/u", """{"password":"p","is_superuser":true}"""),
            ("POST", "/api/v4/acl", """{"clientid":"c","topic":"t","action":"pub","access":"allow"}"""),
            ("POST", "/api/v4/emqx_acl", """{"login":"u","topic":"t","action":"pubsub","allow":true}"""),
            ("POST", "/api/v4/apps", """{"app_id":"x","name":"n","secret":"s","desc":"d","status":true,"expired":"undefined"}"""),
            ("PUT", "/api/v4/apps/x", """{"name":"n","desc":"d","status":true,"expired":"undefined"}"""),
            ("PUT", "/api/v4/configs/emqx_retainer", """{"max_retained_messages":10}"""),
            ("POST", "/api/v3/banned", """{"who":"y","as":"client_id","reason":"r","until":1999999999}"""),
        ];
        string[] wrong = ["123", "-1", "1e308", "true", "null", "[]", "{}", "[1,{\"a\":[]}]", $"\"{new string('w', 70_000)}\"", "\"\"", "\"\\ud800\""];
        foreach ((string method, string path, string body) in routes)
        {
            var bodies = new List<string>();
            foreach (System.Text.RegularExpressions.Match field in System.Text.RegularExpressions.Regex.Matches(body, "\"(\\w+)\":(\"[^\"]*\"|[^,}\\]]+)"))
            {
                foreach (string value in wrong)
                {
                    bodies.Add(body[..field.Groups[2].Index] + value + body[(field.Groups[2].Index + field.Groups[2].Length)..]);
                }
            }

            bodies.Add(body.StartsWith('[') ? "{}" : "[]");
            bodies.Add("\"just a string\"");
            bodies.Add("42");
            yield return new TestCaseData(method, path, bodies.ToArray()).SetArgDisplayNames($"{method} {path}");
        }
    }

    private static ServerApi? s_server;

    [OneTimeSetUp]
    public async Task StartAsync() => s_server = await ServerApi.StartAsync(o => o.Api.MaxBodySize = 256 * 1024);

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_server is not null)
        {
            await s_server.DisposeAsync();
        }
    }

    [TestCaseSource(nameof(MalformedRequests)), CancelAfter(60_000)]
    public async Task MalformedRequest_GetsA4xx_AndTheHostKeepsServing(byte[] request, int[] allowed, CancellationToken cancellationToken)
    {
        int status = await SendRawAsync(request, cancellationToken);

        Assert.That(allowed, Does.Contain(status), $"status {status}");
        await s_server!.GetAsync("/api/v4/brokers", cancellationToken);
    }

    [TestCaseSource(nameof(WrongTypes)), CancelAfter(120_000)]
    public async Task WrongJsonTypes_AreRefusedCleanly_NeverA5xx(string method, string path, string[] bodies, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (string body in bodies)
        {
            int status = await SendRawAsync(Encoding.UTF8.GetBytes(Request(method, path, body)), cancellationToken);
            if (status != 200 && !s_clientErrors.Contains(status))
            {
                failures.Add($"{status} for {(body.Length > 200 ? body[..200] + "..." : body)}");
            }
        }

        Assert.That(failures, Is.Empty);
        await s_server!.GetAsync("/api/v4/brokers", cancellationToken);
    }

    [Test, CancelAfter(60_000)]
    public async Task Slowloris_DoesNotHoldUpOthers(CancellationToken cancellationToken)
    {
        var slow = new List<Socket>();
        try
        {
            for (int i = 0; i < 64; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, s_server!.Http.BaseAddress!.Port, cancellationToken);
                // A request line and part of a header, and then nothing more.
                await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /api/v4/brokers HTTP/1.1\r\nHost: 127.0.0.1:{s_server.Http.BaseAddress.Port}\r\nX-Slow: a"), SocketFlags.None, cancellationToken);
                slow.Add(socket);
            }

            for (int i = 0; i < 5; i++)
            {
                await s_server!.GetAsync("/api/v4/brokers", cancellationToken);
            }
        }
        finally
        {
            foreach (Socket socket in slow)
            {
                socket.Dispose();
            }
        }
    }

    private static string Post(string path, string body, int? contentLength = null)
        => $"POST {path} HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nContent-Length: {contentLength ?? Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    private static string Request(string method, string path, string body)
        => $"{method} {path} HTTP/1.1\r\nHost: x\r\n{Auth}Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    /// <summary>Sends the bytes, reads until the host closes, and returns the status; fails if there is no answer in 30 s.</summary>
    private static async Task<int> SendRawAsync(byte[] request, CancellationToken cancellationToken)
    {
        int port = s_server!.Http.BaseAddress!.Port;
        // HttpListener matches the Host header against its prefix: the cases say "Host: x", the real one goes out.
        request = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(request).Replace("Host: x\r\n", $"Host: 127.0.0.1:{port}\r\n", StringComparison.Ordinal));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var response = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        try
        {
            // The host may answer (and close) before it has read everything: a reset while sending is not a failure.
            await socket.SendAsync(request, SocketFlags.None, timeout.Token);
        }
        catch (SocketException)
        {
        }

        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                response.Write(buffer, 0, read);
                if (TryStatus(response, out int complete, requireComplete: true))
                {
                    return complete;
                }
            }
        }
        catch (SocketException) when (response.Length > 0)
        {
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"no complete answer within 30 s; got {response.Length} bytes");
        }

        if (!TryStatus(response, out int status, requireComplete: false))
        {
            Assert.Fail($"the connection closed without a status line ({response.Length} bytes)");
        }

        return status;
    }

    /// <summary>The status code once the head (and, with Content-Length, the body) has arrived.</summary>
    private static bool TryStatus(MemoryStream response, out int status, bool requireComplete)
    {
        status = 0;
        string text = Encoding.Latin1.GetString(response.GetBuffer(), 0, (int)response.Length);
        int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/", StringComparison.Ordinal) || text.Length < 12 || (requireComplete && headEnd < 0))
        {
            return false;
        }

        if (!int.TryParse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture, out status))
        {
            return false;
        }

        if (!requireComplete)
        {
            return true;
        }

        System.Text.RegularExpressions.Match length = System.Text.RegularExpressions.Regex.Match(text[..headEnd], "(?im)^content-length:\\s*(\\d+)");
        return length.Success && text.Length - (headEnd + 4) >= int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
