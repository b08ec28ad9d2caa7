using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.Server;
using Broker.Tests.EndToEnd;
using Broker.Tests.Http;
using Broker.Tests.TestSupport;
using Broker.Transport.Tls;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Broker.Tests.Transport;

/// <summary>The MQTT/SSL listener as a user runs it: certificates made by the test, real clients, the API's view.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class TlsListenerTests
{
    private TestCertificates _certificates = null!;

    [OneTimeSetUp]
    public void CreateCertificates() => _certificates = new TestCertificates();

    [OneTimeTearDown]
    public void DeleteCertificates() => _certificates.Dispose();

    [TestCase(SslProtocols.Tls12)]
    [TestCase(SslProtocols.Tls13)]
    public async Task PemCertificate_TlsClient_ExchangesQoS0AndQoS1_WithATcpClient(SslProtocols version, CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(o => UsePem(o), cancellationToken);
        int port = Port(server.Host.SslListener!);
        Assert.That(await NegotiatedVersionAsync(port, version, _certificates.ServerThumbprint, cancellationToken), Is.EqualTo(version));

        NetClient secure = await NetClient.ConnectAsync(port, "secure", MqttProtocolVersion.V500, cancellationToken, b => b.WithTlsOptions(t => Trusting(t).WithSslProtocols(version)));
        NetClient plain = await server.ConnectAsync("plain", cancellationToken, MqttProtocolVersion.V311);
        try
        {
            await secure.SubscribeAsync("to/secure", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            await plain.SubscribeAsync("to/plain", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

            await plain.PublishAsync("to/secure", "q1", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            await plain.PublishAsync("to/secure", "q0", MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);
            await secure.PublishAsync("to/plain", "q1 back", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
            await secure.PublishAsync("to/plain", "q0 back", MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);

            ReceivedMessage first = await secure.ReceiveAsync(cancellationToken);
            ReceivedMessage second = await secure.ReceiveAsync(cancellationToken);
            ReceivedMessage third = await plain.ReceiveAsync(cancellationToken);
            ReceivedMessage fourth = await plain.ReceiveAsync(cancellationToken);
            using (Assert.EnterMultipleScope())
            {
                Assert.That((first.PayloadText, first.QoS), Is.EqualTo(("q1", MqttQualityOfServiceLevel.AtLeastOnce)));
                Assert.That((second.PayloadText, second.QoS), Is.EqualTo(("q0", MqttQualityOfServiceLevel.AtMostOnce)));
                Assert.That((third.PayloadText, third.QoS), Is.EqualTo(("q1 back", MqttQualityOfServiceLevel.AtLeastOnce)));
                Assert.That((fourth.PayloadText, fourth.QoS), Is.EqualTo(("q0 back", MqttQualityOfServiceLevel.AtMostOnce)));
            }
        }
        finally
        {
            secure.Dispose();
        }
    }

    [Test]
    public async Task PfxCertificate_WithPassword_Serves(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(
            o =>
            {
                o.Tls.CertificateFile = _certificates.ServerPfxFile;
                o.Tls.Password = TestCertificates.PfxPassword;
            },
            cancellationToken);

        using NetClient client = await NetClient.ConnectAsync(Port(server.Host.SslListener!), "pfx", MqttProtocolVersion.V311, cancellationToken, b => b.WithTlsOptions(t => Trusting(t)));
        await client.SubscribeAsync("x", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);
    }

    [Test]
    public async Task ClientCertificate_Required_CommonNameBecomesTheUsername(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(
            o =>
            {
                UsePem(o);
                o.Tls.CaCertificateFile = _certificates.CaFile;
                o.Tls.Verify = TlsVerifyMode.VerifyPeer;
                o.Tls.FailIfNoPeerCertificate = true;
                o.Tls.PeerCertAsUserName = PeerCertName.Cn;
                o.AclRules.Add(Broker.Server.Configuration.SecurityBootstrap.ParseAcl("deny,username:device-7,sub,secret/#"));
            },
            cancellationToken);
        int port = Port(server.Host.SslListener!);
        using X509Certificate2 certificate = _certificates.CreateClientCertificate("device-7");

        using NetClient device = await NetClient.ConnectAsync(port, "dev", MqttProtocolVersion.V500, cancellationToken, b => b
            .WithCredentials("claimed-name", "pw")
            .WithTlsOptions(t => Trusting(t).WithClientCertificates(new X509Certificate2Collection(certificate))));

        JsonElement row = (await server.GetAsync("/api/v4/clients/dev", cancellationToken)).GetProperty("data")[0];
        Assert.That(row.GetProperty("username").GetString(), Is.EqualTo("device-7"));
        MqttClientSubscribeResult denied = await device.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("secret/a").Build(), cancellationToken);
        Assert.That(denied.Items.Single().ResultCode, Is.EqualTo(MqttClientSubscribeResultCode.NotAuthorized), "the ACL rule for the certificate's name applies");

        // fail_if_no_peer_cert: a client without a certificate never gets to CONNECT.
        Assert.That(
            async () => await NetClient.ConnectAsync(port, "anonymous", MqttProtocolVersion.V500, cancellationToken, b => b.WithTimeout(TimeSpan.FromSeconds(5)).WithTlsOptions(t => Trusting(t))),
            Throws.InstanceOf<Exception>());
        await Poll.UntilAsync(
            () => server.Host.SslListener!.ShutdownCount[Broker.Transport.Connections.ShutdownReasons.SslError] == 1 && server.Host.SslListener.CurrentConnections == 1,
            cancellationToken);
        Assert.That(device.Client.IsConnected, Is.True, "the refused handshake did not disturb the connected client");
    }

    [Test]
    public async Task ListenersRoute_ShowsSslWsAndWss_WithLiveFigures(CancellationToken cancellationToken)
    {
        await using ServerApi server = await ServerApi.StartAsync(
            o =>
            {
                UsePem(o);
                o.MqttSsl.MaxConnections = 77;
                o.MqttWss.MaxConnections = 16;
            },
            cancellationToken);
        int sslPort = Port(server.Host.SslListener!);
        int wsPort = Port(server.Host.WsListener!);
        int wssPort = Port(server.Host.WssListener!);

        NetClient client = await NetClient.ConnectAsync(sslPort, "counted", MqttProtocolVersion.V311, cancellationToken, b => b.WithTlsOptions(t => Trusting(t)));
        JsonElement ssl = await ListenerAsync(server, "mqtt:ssl", cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ssl.GetProperty("listen_on").GetString(), Is.EqualTo($"127.0.0.1:{sslPort}"));
            Assert.That(ssl.GetProperty("current_conns").GetInt32(), Is.EqualTo(1));
            Assert.That(ssl.GetProperty("max_conns").GetInt32(), Is.EqualTo(77));
            Assert.That(ssl.GetProperty("acceptors").GetInt32(), Is.EqualTo(1));
            Assert.That(ssl.GetProperty("shutdown_count").GetRawText(), Is.EqualTo("[]"), "EMQX writes an empty count as []");
            JsonElement ws = await ListenerAsync(server, $"mqtt:ws:{wsPort}", cancellationToken);
            Assert.That(ws.GetProperty("listen_on").GetString(), Is.EqualTo($"127.0.0.1:{wsPort}"));
            Assert.That(ws.GetProperty("max_conns").GetInt32(), Is.EqualTo(102_400));
            JsonElement wss = await ListenerAsync(server, $"mqtt:wss:{wssPort}", cancellationToken);
            Assert.That(wss.GetProperty("max_conns").GetInt32(), Is.EqualTo(16));
            Assert.That(wss.GetProperty("current_conns").GetInt32(), Is.Zero);
        }

        await client.DisconnectAsync(cancellationToken);
        client.Dispose();
        await Poll.UntilAsync(() => server.Host.SslListener!.CurrentConnections == 0 && server.Host.SslListener.ShutdownCount.Total == 1, cancellationToken);
        ssl = await ListenerAsync(server, "mqtt:ssl", cancellationToken);
        Assert.That(ssl.GetProperty("current_conns").GetInt32(), Is.Zero);
        Assert.That(ssl.GetProperty("shutdown_count").EnumerateObject().Sum(p => p.Value.GetInt64()), Is.EqualTo(1));
    }

    [Test]
    public async Task SslEnabled_WithoutCertificate_FailsAtStart_WithAClearError_AndNothingListens(CancellationToken cancellationToken)
    {
        ServerOptions options = LocalOptions();
        options.SslEnabled = true;
        await using var host = new BrokerHost(options, NullLoggerFactory.Instance);

        TlsCertificateException error = Assert.ThrowsAsync<TlsCertificateException>(() => host.StartAsync(cancellationToken))!;

        Assert.That(error.Message, Does.Contain("No certificate file is configured (certfile)"));
        Assert.That(host.MqttListener.IsListening, Is.False);
        Assert.That(host.WsListener!.IsListening, Is.False);
    }

    [TestCase("missing")]
    [TestCase("garbage")]
    [TestCase("wrong-password")]
    public async Task UnreadableCertificate_FailsAtStart_NamingTheFile(string kind, CancellationToken cancellationToken)
    {
        ServerOptions options = LocalOptions();
        string path = Path.Combine(_certificates.Directory, kind + (kind == "wrong-password" ? ".pfx" : ".pem"));
        switch (kind)
        {
            case "garbage":
                await File.WriteAllTextAsync(path, "not a certificate", cancellationToken);
                break;
            case "wrong-password":
                File.Copy(_certificates.ServerPfxFile, path, overwrite: true);
                options.Tls.Password = "nope";
                break;
        }

        options.Tls.CertificateFile = path;
        await using var host = new BrokerHost(options, NullLoggerFactory.Instance);

        TlsCertificateException error = Assert.ThrowsAsync<TlsCertificateException>(() => host.StartAsync(cancellationToken))!;
        Assert.That(error.Message, Does.Contain(path));
        Assert.That(host.MqttListener.IsListening, Is.False);
    }

    [Test]
    public async Task ServerCommand_SslWithoutCertificate_ExitsOne()
    {
        string data = Path.Combine(_certificates.Directory, "data-" + Guid.NewGuid().ToString("N"));
        int exitCode = await ServerCommand.RunAsync(
            ["--bind", "127.0.0.1", "--mqtt-port", "0", "--ws-port", "0", "--ssl", "true", "--ssl-port", "0", "--api", "false", "--data-dir", data],
            TextWriter.Null,
            TextWriter.Null,
            CancellationToken.None,
            NullLoggerFactory.Instance);

        Assert.That(exitCode, Is.EqualTo(ServerCommand.StartFailedExitCode));
    }

    internal static MqttClientTlsOptionsBuilder Trusting(MqttClientTlsOptionsBuilder tls)
        => tls.UseTls().WithCertificateValidationHandler(_ => true);

    internal static int Port(Broker.Transport.Connections.IConnectionListener listener) => ((IPEndPoint)listener.EndPoint).Port;

    internal static async Task<JsonElement> ListenerAsync(ServerApi server, string protocol, CancellationToken cancellationToken)
    {
        JsonElement body = await server.GetAsync("/api/v4/listeners", cancellationToken);
        return body.GetProperty("data")[0].GetProperty("listeners").EnumerateArray().Single(l => l.GetProperty("protocol").GetString() == protocol);
    }

    private static async Task<SslProtocols> NegotiatedVersionAsync(int port, SslProtocols version, string serverThumbprint, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = version,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == serverThumbprint,
            },
            cancellationToken);
        return ssl.SslProtocol;
    }

    private void UsePem(ServerOptions options)
    {
        options.Tls.CertificateFile = _certificates.ServerCertFile;
        options.Tls.KeyFile = _certificates.ServerKeyFile;
    }

    private ServerOptions LocalOptions()
    {
        var options = new ServerOptions { Bind = IPAddress.Loopback, MqttPort = 0, WsPort = 0, SslPort = 0, WssPort = 0, ApiEnabled = false };
        options.DataDirectory = Path.Combine(_certificates.Directory, "data-" + Guid.NewGuid().ToString("N"));
        return options;
    }
}
