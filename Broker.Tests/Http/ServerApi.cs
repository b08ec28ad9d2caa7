using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broker.Server;
using Broker.Tests.EndToEnd;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Formatter;

namespace Broker.Tests.Http;

/// <summary>
/// The standalone broker as a user runs it, on 127.0.0.1 and free ports: MQTT over TCP and the management API over
/// the real HttpListener host, with an <see cref="HttpClient"/> carrying the default credentials.
/// </summary>
internal sealed class ServerApi : IAsyncDisposable
{
    private readonly string _directory;
    private readonly List<NetClient> _clients = [];

    private ServerApi(string directory, BrokerHost host)
    {
        _directory = directory;
        Host = host;
        Http = new HttpClient { BaseAddress = host.ApiHost!.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:public"u8.ToArray()));
    }

    public BrokerHost Host { get; }

    public HttpClient Http { get; }

    public int MqttPort => ((IPEndPoint)Host.MqttListener.EndPoint).Port;

    public static async Task<ServerApi> StartAsync(Action<ServerOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        string directory = Path.Combine(Path.GetTempPath(), "broker-api-tests-" + Guid.NewGuid().ToString("N"));
        var options = new ServerOptions { Bind = IPAddress.Loopback, MqttPort = 0, WsPort = 0, SslPort = 0, WssPort = 0, DataDirectory = directory };
        options.MqttTcp.Acceptors = 1;
        options.MqttWs.Acceptors = 1;
        options.MqttSsl.Acceptors = 1;
        options.MqttWss.Acceptors = 1;
        options.Broker.SysInterval = TimeSpan.Zero;
        options.Api.Address = IPAddress.Loopback;
        options.Api.Port = 0;
        configure?.Invoke(options);
        var host = new BrokerHost(options, NullLoggerFactory.Instance);
        await host.StartAsync(cancellationToken);
        return new ServerApi(directory, host);
    }

    public async Task<NetClient> ConnectAsync(string clientId, CancellationToken cancellationToken, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        NetClient client = await NetClient.ConnectAsync(MqttPort, clientId, version, cancellationToken);
        _clients.Add(client);
        return client;
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using HttpResponseMessage response = await Http.SendAsync(request, cancellationToken);
        byte[] bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        JsonElement json = default;
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            json = document.RootElement.Clone();
        }

        return (response.StatusCode, json);
    }

    public async Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken)
    {
        (HttpStatusCode status, JsonElement body) = await SendAsync(HttpMethod.Get, path, null, cancellationToken);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), path);
        return body;
    }

    public async Task<JsonElement> PostAsync(string path, string body, CancellationToken cancellationToken)
    {
        (HttpStatusCode status, JsonElement json) = await SendAsync(HttpMethod.Post, path, body, cancellationToken);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), path);
        return json;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (NetClient client in _clients)
        {
            client.Dispose();
        }

        Http.Dispose();
        await Host.DisposeAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
