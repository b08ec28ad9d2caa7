using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Broker.Core;
using Broker.Core.Protocol;
using Broker.Http;
using Broker.Http.Auth;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Http;

/// <summary>
/// The management API over a <see cref="TestBroker"/> (in-memory pipes, fake clock), called directly with no
/// sockets: requests carry the default app's credentials unless told otherwise.
/// </summary>
internal sealed class ApiHarness : IAsyncDisposable
{
    public const string AppId = "admin";
    public const string AppSecret = "public";

    public ApiHarness(Action<Broker.Core.Configuration.BrokerOptions>? configure = null)
    {
        Test = new TestBroker(o =>
        {
            o.NodeName = "broker@127.0.0.1";
            configure?.Invoke(o);
        });

        // One PBKDF2 iteration: the hashing is tested on its own, here it would only slow every test down.
        Apps = new AppStore(iterations: 1, timeProvider: Test.Time);
        Apps.EnsureDefault(AppId, AppSecret);
        Listener = new FakeListener(PipeClientListener);
        Context = new ManagementContext(Test.Broker, Apps, () => [Listener]);
        Api = new ManagementApi(Context);
    }

    /// <summary>The listener name <see cref="PipeClient"/> connections carry.</summary>
    public const string PipeClientListener = "mqtt:internal";

    public TestBroker Test { get; }

    public MqttBroker Broker => Test.Broker;

    public AppStore Apps { get; }

    public FakeListener Listener { get; }

    public ManagementContext Context { get; }

    public ManagementApi Api { get; }

    public static string BasicAuth(string id, string secret) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(id + ":" + secret));

    public Task<PipeClient> ConnectAsync(string clientId, ProtocolVersion version = ProtocolVersion.V500, string? userName = null, bool cleanStart = true)
        => Test.ConnectAsync(clientId, version, cleanStart, c => c.UserName = userName);

    public async Task<ApiResponse> SendAsync(string method, string target, string? body = null, string? authorization = null)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Authorization"] = authorization ?? BasicAuth(AppId, AppSecret),
        };
        return await Api.HandleAsync(ApiRequest.Create(method, target, body, headers));
    }

    /// <summary>Sends, asserts HTTP 200 with a JSON body, and returns the parsed body.</summary>
    public async Task<JsonElement> JsonAsync(string method, string target, string? body = null)
    {
        ApiResponse response = await SendAsync(method, target, body);
        Assert.That(response.Status, Is.EqualTo(200), response.BodyText);
        Assert.That(response.ContentType, Does.StartWith("application/json"));
        using JsonDocument document = JsonDocument.Parse(response.Body);
        return document.RootElement.Clone();
    }

    public Task<JsonElement> GetAsync(string target) => JsonAsync("GET", target);

    public async ValueTask DisposeAsync() => await Test.DisposeAsync();
}

/// <summary>A listener that only counts, standing in for the server's MQTT listeners.</summary>
internal sealed class FakeListener(string name) : IListenerInfo
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public string Name => name;

    public string Protocol => "mqtt:tcp";

    public string ListenOn => "127.0.0.1:1883";

    public int Acceptors => 2;

    public int MaxConnections => 1000;

    public int CurrentConnections { get; set; }

    public IReadOnlyDictionary<string, long> ShutdownCounts => new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);

    public void RecordShutdown(string reason) => _counts.AddOrUpdate(reason, 1, static (_, n) => n + 1);
}
