using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Http.Channel;
using Broker.Server;
using Broker.Tests.EndToEnd;
using MQTTnet.Protocol;

namespace Broker.Tests.Http;

/// <summary>
/// The cloud-edge channel through the real server and HttpListener host: token login, the <c>local</c> cluster served
/// in-process, and the edge-service proxy against a real HTTP upstream on 127.0.0.1.
/// </summary>
[TestFixture]
public sealed class CloudEdgeChannelTests
{
    private const string User = "ecp";
    private const string Password = "ecp-secret";
    private const string UpstreamUser = "neuron";
    private const string UpstreamPassword = "upstream-pa55word";

    private static Task<ServerApi> StartAsync(CancellationToken cancellationToken, Action<ServerOptions>? configure = null)
        => ServerApi.StartAsync(options =>
        {
            options.ChannelEnabled = true;
            options.ChannelUsers.Add((User, Password));
            options.Channel.UpstreamTimeout = TimeSpan.FromSeconds(2);
            configure?.Invoke(options);
        }, cancellationToken);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> LoginAsync(ServerApi server, string user, string password, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/login")
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string> { ["username"] = user, ["password"] = password }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = null;
        using var http = new HttpClient { BaseAddress = server.Http.BaseAddress };
        using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        return (response.StatusCode, document.RootElement.Clone());
    }

    private static async Task<string> TokenAsync(ServerApi server, CancellationToken cancellationToken)
    {
        (HttpStatusCode status, JsonElement body) = await LoginAsync(server, User, Password, cancellationToken);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.GetRawText());
        return body.GetProperty("accessToken").GetString()!;
    }

    private static HttpClient Bearer(ServerApi server, string? token)
    {
        var http = new HttpClient { BaseAddress = server.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private const string PublishBody = """{"topic":"a/b/c","payload":"Hello World","qos":1,"retain":false,"clientid":"example","properties":{"user_properties":{"id":10010,"name":"emqx","foo":"bar"},"content_type":"text/plain"}}""";

    [Test, CancelAfter(60_000)]
    public async Task PublishThroughLocalCluster_WithToken_ReachesTheSubscriber(CancellationToken cancellationToken)
    {
        await using ServerApi server = await StartAsync(cancellationToken);
        NetClient subscriber = await server.ConnectAsync("sub", cancellationToken);
        await subscriber.SubscribeAsync("a/b/c", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        using HttpClient http = Bearer(server, await TokenAsync(server, cancellationToken));

        using HttpResponseMessage response = await http.PostAsync("/api/emqxee/dashboard/local/api/v4/mqtt/publish", new StringContent(PublishBody, Encoding.UTF8, "application/json"), cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("""{"code":0}"""));
        ReceivedMessage message = await subscriber.ReceiveAsync("a/b/c", cancellationToken);
        Assert.That(message.PayloadText, Is.EqualTo("Hello World"));
        Assert.That(message.ContentType, Is.EqualTo("text/plain"));
    }

    [TestCase(null, TestName = "Publish_WithoutToken_Is401")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", TestName = "Publish_WithUnknownToken_Is401")]
    [TestCase("not-a-token", TestName = "Publish_WithMalformedToken_Is401")]
    [CancelAfter(60_000)]
    public async Task Publish_WithoutAValidToken_Is401(string? token, CancellationToken cancellationToken)
    {
        await using ServerApi server = await StartAsync(cancellationToken);
        NetClient subscriber = await server.ConnectAsync("sub", cancellationToken);
        await subscriber.SubscribeAsync("a/b/c", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
        using HttpClient http = Bearer(server, token);

        using HttpResponseMessage response = await http.PostAsync("/api/emqxee/dashboard/local/api/v4/mqtt/publish", new StringContent(PublishBody, Encoding.UTF8, "application/json"), cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        // The API's Basic credentials are no way in either: the channel asks for its own token.
        using var basic = new HttpRequestMessage(HttpMethod.Post, "/api/emqxee/dashboard/local/api/v4/mqtt/publish") { Content = new StringContent(PublishBody, Encoding.UTF8, "application/json") };
        using HttpResponseMessage withBasic = await server.Http.SendAsync(basic, cancellationToken);
        Assert.That(withBasic.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(subscriber.Pending, Is.Zero);
    }

    [Test, CancelAfter(60_000)]
    public async Task Login_WrongPassword_Is401_AndRefresh_IssuesAWorkingPairOnce(CancellationToken cancellationToken)
    {
        await using ServerApi server = await StartAsync(cancellationToken);
        (HttpStatusCode wrong, JsonElement wrongBody) = await LoginAsync(server, User, "nope", cancellationToken);
        (HttpStatusCode ok, JsonElement login) = await LoginAsync(server, User, Password, cancellationToken);
        Assert.That(wrong, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(wrongBody.GetProperty("code").GetInt32(), Is.EqualTo(103));
        Assert.That(ok, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(login.GetProperty("tokenType").GetString(), Is.EqualTo("Bearer"));
        Assert.That(login.GetProperty("expiresIn").GetInt64(), Is.EqualTo(3600));

        using HttpClient anonymous = Bearer(server, null);
        string refreshBody = JsonSerializer.Serialize(new Dictionary<string, string> { ["refreshToken"] = login.GetProperty("refreshToken").GetString()! });
        using HttpResponseMessage refreshed = await anonymous.PostAsync("/api/login/refresh", new StringContent(refreshBody, Encoding.UTF8, "application/json"), cancellationToken);
        using HttpResponseMessage replayed = await anonymous.PostAsync("/api/login/refresh", new StringContent(refreshBody, Encoding.UTF8, "application/json"), cancellationToken);
        Assert.That(refreshed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(replayed.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a refresh token is single-use");

        using JsonDocument pair = JsonDocument.Parse(await refreshed.Content.ReadAsStringAsync(cancellationToken));
        using HttpClient renewed = Bearer(server, pair.RootElement.GetProperty("accessToken").GetString());
        using HttpClient old = Bearer(server, login.GetProperty("accessToken").GetString());
        using HttpResponseMessage withNew = await renewed.GetAsync("/api/emqxee/dashboard/local/api/v4/brokers", cancellationToken);
        using HttpResponseMessage withOld = await old.GetAsync("/api/emqxee/dashboard/local/api/v4/brokers", cancellationToken);
        Assert.That(withNew.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(withOld.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "refreshing revokes the old access token");
    }

    [Test, CancelAfter(60_000)]
    public async Task UnknownClusterOrEdgeService_Is404(CancellationToken cancellationToken)
    {
        await using ServerApi server = await StartAsync(cancellationToken);
        using HttpClient http = Bearer(server, await TokenAsync(server, cancellationToken));

        using HttpResponseMessage cluster = await http.GetAsync("/api/emqxee/dashboard/nosuch/api/v4/brokers", cancellationToken);
        using HttpResponseMessage service = await http.GetAsync("/api/edgeservice/proxy/nosuch/api/neuron/node", cancellationToken);

        Assert.That(cluster.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await cluster.Content.ReadAsStringAsync(cancellationToken), Does.Contain("unknown cluster 'nosuch'"));
        Assert.That(service.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test, CancelAfter(60_000)]
    public async Task EdgeServiceProxy_PassesMethodPathQueryBodyAndStatus_StripsHopByHop_AndKeepsUpstreamCredentials(CancellationToken cancellationToken)
    {
        await using var upstream = Upstream.Start(async context =>
        {
            HttpListenerResponse response = context.Response;
            response.StatusCode = 201;
            response.ContentType = "application/json";
            response.AddHeader("X-Upstream", "yes");
            response.AddHeader("WWW-Authenticate", "Basic realm=\"neuron\"");
            byte[] body = """{"error":0}"""u8.ToArray();
            await response.OutputStream.WriteAsync(body, cancellationToken);
            response.Close();
        });
        await using ServerApi server = await StartAsync(cancellationToken, options =>
            options.ChannelEdgeServices.Add(new ChannelTarget { Id = "neuronex", Url = upstream.BaseUrl, Username = UpstreamUser, Password = UpstreamPassword }));
        string token = await TokenAsync(server, cancellationToken);
        using HttpClient http = Bearer(server, token);
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/edgeservice/proxy/neuronex/api/neuron/node?name=modbus%20tcp&x=1")
        {
            Content = new StringContent("""{"name":"modbus-tcp-node","plugin":"Modbus TCP"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Forward-Me", "1");
        request.Headers.Add("Proxy-Authorization", "Basic c2VjcmV0");
        request.Headers.Add("Keep-Alive", "timeout=5");

        using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);

        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        Seen seen = upstream.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(text, Is.EqualTo("""{"error":0}"""));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(response.Headers.GetValues("X-Upstream"), Is.EqualTo(new[] { "yes" }));
            Assert.That(response.Headers.Contains("WWW-Authenticate"), Is.False, "the upstream's challenge concerns the channel's credentials");
            Assert.That(response.Headers.ToString() + response.Content.Headers + text, Does.Not.Contain(UpstreamPassword).And.Not.Contain(Convert.ToBase64String(Encoding.UTF8.GetBytes(UpstreamUser + ":" + UpstreamPassword))));

            Assert.That(seen.Method, Is.EqualTo("PUT"));
            Assert.That(seen.RawUrl, Is.EqualTo("/api/neuron/node?name=modbus%20tcp&x=1"));
            Assert.That(seen.Body, Is.EqualTo("""{"name":"modbus-tcp-node","plugin":"Modbus TCP"}"""u8.ToArray()));
            Assert.That(seen.Headers["Content-Type"], Does.StartWith("application/json"));
            Assert.That(seen.Headers["X-Forward-Me"], Is.EqualTo("1"));
            Assert.That(seen.Headers.ContainsKey("Proxy-Authorization"), Is.False);
            Assert.That(seen.Headers.ContainsKey("Keep-Alive"), Is.False);
            Assert.That(seen.Headers["Authorization"], Is.EqualTo("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(UpstreamUser + ":" + UpstreamPassword))));
            Assert.That(string.Join("\n", seen.Headers.Values), Does.Not.Contain(token), "the channel token stays with the channel");
        }
    }

    [TestCase("/api/edgeservice/proxy/neuronex/api/../admin")]
    [TestCase("/api/edgeservice/proxy/neuronex/api/%2e%2e/admin")]
    [CancelAfter(60_000)]
    public async Task EdgeServiceProxy_DotSegments_Are400_AndNeverLeaveTheBasePath(string target, CancellationToken cancellationToken)
    {
        await using ServerApi server = await StartAsync(cancellationToken, options =>
            options.ChannelEdgeServices.Add(new ChannelTarget { Id = "neuronex", Url = "http://127.0.0.1:9/base" }));
        using HttpClient http = Bearer(server, await TokenAsync(server, cancellationToken));

        // Sent as is: HttpClient would otherwise fold the dot segments itself.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, http.BaseAddress!.Port, cancellationToken);
        NetworkStream stream = tcp.GetStream();
        string token = http.DefaultRequestHeaders.Authorization!.Parameter!;
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{http.BaseAddress.Port}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string statusLine = (await reader.ReadLineAsync(cancellationToken))!;

        Assert.That(statusLine, Does.StartWith("HTTP/1.1 400"));
    }

    [Test, CancelAfter(60_000)]
    public async Task EdgeServiceProxy_UpstreamDown_Is502(CancellationToken cancellationToken)
    {
        int closedPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        await using ServerApi server = await StartAsync(cancellationToken, options =>
            options.ChannelEdgeServices.Add(new ChannelTarget { Id = "down", Url = $"http://127.0.0.1:{closedPort}/" }));
        using HttpClient http = Bearer(server, await TokenAsync(server, cancellationToken));

        using HttpResponseMessage response = await http.GetAsync("/api/edgeservice/proxy/down/api/ping", cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Does.Contain("edge service 'down' is unreachable"));
    }

    [Test, CancelAfter(60_000)]
    public async Task EdgeServiceProxy_UpstreamSilent_Is504(CancellationToken cancellationToken)
    {
        // Accepts connections and never answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        Task accepting = Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                held.Add(await silent.AcceptTcpClientAsync(cancellationToken));
            }
        }, cancellationToken);
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using ServerApi server = await StartAsync(cancellationToken, options =>
            options.ChannelEdgeServices.Add(new ChannelTarget { Id = "silent", Url = $"http://127.0.0.1:{port}" }));
        using HttpClient http = Bearer(server, await TokenAsync(server, cancellationToken));

        using HttpResponseMessage response = await http.GetAsync("/api/edgeservice/proxy/silent/api/ping", cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Does.Contain("did not answer within 2 s"));
        silent.Stop();
        foreach (TcpClient client in held)
        {
            client.Dispose();
        }
    }

    [Test, CancelAfter(90_000)]
    public async Task EdgeServiceProxy_StreamsBodiesLargerThanTheApiLimit_BothWays(CancellationToken cancellationToken)
    {
        // 8 MiB each way, eight times the API's 1 MiB body limit: a body read whole by the host would get 413.
        const int Size = 8 * 1024 * 1024;
        byte[] sent = RandomNumberGenerator.GetBytes(Size);
        byte[] returned = RandomNumberGenerator.GetBytes(Size);
        await using var upstream = Upstream.Start(async context =>
        {
            HttpListenerResponse response = context.Response;
            response.StatusCode = 200;
            response.ContentType = "application/octet-stream";
            response.SendChunked = true;
            for (int offset = 0; offset < returned.Length; offset += 100_000)
            {
                await response.OutputStream.WriteAsync(returned.AsMemory(offset, Math.Min(100_000, returned.Length - offset)), cancellationToken);
            }

            response.Close();
        });
        await using ServerApi server = await StartAsync(cancellationToken, options =>
            options.ChannelEdgeServices.Add(new ChannelTarget { Id = "bulk", Url = upstream.BaseUrl }));
        using HttpClient http = Bearer(server, await TokenAsync(server, cancellationToken));

        using var content = new ByteArrayContent(sent);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await http.PostAsync("/api/edgeservice/proxy/bulk/upload", content, cancellationToken);
        byte[] received = await response.Content.ReadAsByteArrayAsync(cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(SHA256.HashData(upstream.Requests.Single().Body), Is.EqualTo(SHA256.HashData(sent)), "request body intact upstream");
        Assert.That(received, Has.Length.EqualTo(Size));
        Assert.That(SHA256.HashData(received), Is.EqualTo(SHA256.HashData(returned)), "response body intact at the caller");
    }

    [Test, CancelAfter(90_000)]
    public async Task OverHttps_LoginLocalPublishAndStreamedEdgeProxy_Work(CancellationToken cancellationToken)
    {
        // The Kestrel host has the same streaming seam: a 3 MiB body (over the 1 MiB limit) goes through.
        byte[] sent = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        await using var upstream = Upstream.Start(async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.OutputStream.WriteAsync(SHA256.HashData(sent), cancellationToken);
            context.Response.Close();
        });
        using System.Security.Cryptography.X509Certificates.X509Certificate2 certificate = HttpsHostTests.CreateCertificate();
        string pfx = Path.Combine(Path.GetTempPath(), "broker-channel-https-" + Guid.NewGuid().ToString("N") + ".pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "pw"), cancellationToken);
        try
        {
            await using ServerApi server = await StartAsync(cancellationToken, options =>
            {
                options.ApiHttps.Enabled = true;
                options.ApiHttps.Address = IPAddress.Loopback;
                options.ApiHttps.Port = 0;
                options.ApiHttps.CertificateFile = pfx;
                options.ApiHttps.Password = "pw";
                options.ChannelEdgeServices.Add(new ChannelTarget { Id = "bulk", Url = upstream.BaseUrl });
            });
            NetClient subscriber = await server.ConnectAsync("sub", cancellationToken);
            await subscriber.SubscribeAsync("a/b/c", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            using HttpClient https = HttpsHostTests.Client(server.Host.ApiHttpsHost!.BaseAddress, certificate.Thumbprint, withCredentials: false);
            using HttpResponseMessage login = await https.PostAsync("/api/login", new StringContent($$"""{"username":"{{User}}","password":"{{Password}}"}"""), cancellationToken);
            using JsonDocument tokens = JsonDocument.Parse(await login.Content.ReadAsStringAsync(cancellationToken));
            https.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.RootElement.GetProperty("accessToken").GetString());

            using HttpResponseMessage published = await https.PostAsync("/api/emqxee/dashboard/local/api/v4/mqtt/publish", new StringContent(PublishBody), cancellationToken);
            using HttpResponseMessage proxied = await https.PostAsync("/api/edgeservice/proxy/bulk/upload", new ByteArrayContent(sent), cancellationToken);

            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await published.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("""{"code":0}"""));
            Assert.That((await subscriber.ReceiveAsync("a/b/c", cancellationToken)).PayloadText, Is.EqualTo("Hello World"));
            Assert.That(proxied.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await proxied.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(SHA256.HashData(sent)));
            Assert.That(SHA256.HashData(upstream.Requests.Single().Body), Is.EqualTo(SHA256.HashData(sent)));
        }
        finally
        {
            File.Delete(pfx);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task Routes_RegisterListAndDelete_EdgeServicesAndUsers_PersistedWithoutSecretsShown(CancellationToken cancellationToken)
    {
        await using ServerApi server = await StartAsync(cancellationToken);

        JsonElement added = await server.PostAsync("/api/v4/channel/edge_services", """{"id":"n1","url":"http://127.0.0.1:7000","username":"u","password":"p-secret"}""", cancellationToken);
        JsonElement duplicate = await server.PostAsync("/api/v4/channel/edge_services", """{"id":"n1","url":"http://127.0.0.1:7000"}""", cancellationToken);
        JsonElement invalid = await server.PostAsync("/api/v4/channel/clusters", """{"id":"c1","url":"http://a:b@host/"}""", cancellationToken);
        JsonElement user = await server.PostAsync("/api/v4/channel/users", """{"username":"ops","password":"ops-pass"}""", cancellationToken);
        JsonElement services = await server.GetAsync("/api/v4/channel/edge_services", cancellationToken);
        JsonElement clusters = await server.GetAsync("/api/v4/channel/clusters", cancellationToken);
        JsonElement users = await server.GetAsync("/api/v4/channel/users", cancellationToken);
        // Route-created entries are kept in the database: one document, written before the API answered.
        string file = System.Text.Encoding.UTF8.GetString(server.Host.Store.LoadDocuments("channel").Single().Json);
        (HttpStatusCode opsLogin, _) = await LoginAsync(server, "ops", "ops-pass", cancellationToken);
        JsonElement deleted = await server.SendAsync(HttpMethod.Delete, "/api/v4/channel/edge_services/n1", null, cancellationToken).ContinueWith(t => t.Result.Body, cancellationToken);
        JsonElement afterDelete = await server.GetAsync("/api/v4/channel/edge_services", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(added.GetRawText(), Is.EqualTo("""{"code":0}"""));
            Assert.That(duplicate.GetRawText(), Is.EqualTo("""{"message":"existed"}"""));
            Assert.That(invalid.GetProperty("code").GetInt32(), Is.EqualTo(108));
            Assert.That(user.GetRawText(), Is.EqualTo("""{"code":0}"""));
            Assert.That(services.GetProperty("data").GetRawText(), Is.EqualTo("""[{"id":"n1","url":"http://127.0.0.1:7000","username":"u","source":"api"}]"""));
            Assert.That(clusters.GetProperty("data")[0].GetProperty("id").GetString(), Is.EqualTo("local"));
            Assert.That(users.GetProperty("data").GetRawText(), Is.EqualTo("""[{"username":"ecp","source":"config"},{"username":"ops","source":"api"}]"""));
            Assert.That(file, Does.Contain("\"n1\"").And.Contain("\"ops\"").And.Not.Contain("ops-pass").And.Not.Contain("\"ecp\""));
            Assert.That(opsLogin, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(deleted.GetRawText(), Is.EqualTo("""{"code":0}"""));
            Assert.That(afterDelete.GetProperty("data").GetArrayLength(), Is.Zero);
        }
    }

    private sealed record Seen(string Method, string RawUrl, Dictionary<string, string> Headers, byte[] Body);

    /// <summary>A real HTTP server on 127.0.0.1 that records what reached it and answers through a test's handler.</summary>
    private sealed class Upstream : IAsyncDisposable
    {
        private readonly HttpListener _listener;
        private readonly Task _loop;
        private readonly List<Seen> _requests = [];

        private Upstream(HttpListener listener, string baseUrl, Func<HttpListenerContext, Task> respond)
        {
            _listener = listener;
            BaseUrl = baseUrl;
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                    {
                        return;
                    }

                    using var body = new MemoryStream();
                    await context.Request.InputStream.CopyToAsync(body);
                    var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    foreach (string? name in context.Request.Headers.AllKeys)
                    {
                        if (name is not null)
                        {
                            headers[name] = context.Request.Headers[name] ?? string.Empty;
                        }
                    }

                    lock (_requests)
                    {
                        _requests.Add(new Seen(context.Request.HttpMethod, context.Request.RawUrl ?? string.Empty, headers, body.ToArray()));
                    }

                    await respond(context);
                }
            });
        }

        public string BaseUrl { get; }

        public IReadOnlyList<Seen> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public static Upstream Start(Func<HttpListenerContext, Task> respond)
        {
            for (int attempt = 0; ; attempt++)
            {
                int port;
                using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                {
                    probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                    port = ((IPEndPoint)probe.LocalEndPoint!).Port;
                }

                string baseUrl = $"http://127.0.0.1:{port}/";
                var listener = new HttpListener();
                listener.Prefixes.Add(baseUrl);
                try
                {
                    listener.Start();
                    return new Upstream(listener, baseUrl, respond);
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}
