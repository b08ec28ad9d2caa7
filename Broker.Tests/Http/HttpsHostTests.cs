using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.Server;
using Microsoft.Extensions.Logging;

namespace Broker.Tests.Http;

/// <summary>
/// The management API over HTTPS (Kestrel) through the real server, with a certificate made by the test: PEM pair and
/// PFX, credentials still required, and a certificate that cannot be read stops the start with one log line.
/// </summary>
[TestFixture]
public sealed class HttpsHostTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "broker-https-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    internal static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private (string Cert, string Key, string Thumbprint) WritePem()
    {
        using X509Certificate2 certificate = CreateCertificate();
        string cert = Path.Combine(_directory, "api.crt");
        string key = Path.Combine(_directory, "api.key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key, certificate.Thumbprint);
    }

    internal static HttpClient Client(Uri baseAddress, string thumbprint, bool withCredentials)
    {
        var handler = new HttpClientHandler
        {
            // Trust exactly the test's certificate.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == thumbprint,
        };
        var http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (withCredentials)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:public"u8.ToArray()));
        }

        return http;
    }

    [Test, CancelAfter(60_000)]
    public async Task Https_WithPemCertificate_ServesTheApi_AndStillAsksForCredentials(CancellationToken cancellationToken)
    {
        (string cert, string key, string thumbprint) = WritePem();
        await using ServerApi server = await ServerApi.StartAsync(options =>
        {
            options.ApiHttps.Enabled = true;
            options.ApiHttps.Address = IPAddress.Loopback;
            options.ApiHttps.Port = 0;
            options.ApiHttps.CertificateFile = cert;
            options.ApiHttps.KeyFile = key;
        }, cancellationToken);
        Uri https = server.Host.ApiHttpsHost!.BaseAddress;
        using HttpClient authorised = Client(https, thumbprint, withCredentials: true);
        using HttpClient anonymous = Client(https, thumbprint, withCredentials: false);

        using HttpResponseMessage brokers = await authorised.GetAsync("/api/v4/brokers", cancellationToken);
        using HttpResponseMessage listeners = await authorised.GetAsync("/api/v4/listeners", cancellationToken);
        using HttpResponseMessage unauthorised = await anonymous.GetAsync("/api/v4/brokers", cancellationToken);

        Assert.That(https.Scheme, Is.EqualTo("https"));
        Assert.That(brokers.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using JsonDocument body = JsonDocument.Parse(await brokers.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(body.RootElement.GetProperty("code").GetInt32(), Is.Zero);
        Assert.That(await listeners.Content.ReadAsStringAsync(cancellationToken), Does.Contain("\"https:management\"").And.Contain("\"http:management\""));
        Assert.That(unauthorised.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(unauthorised.Headers.WwwAuthenticate.ToString(), Does.StartWith("Basic"));
    }

    [Test, CancelAfter(60_000)]
    public async Task Https_WithPfxCertificate_AndBodyOverTheLimit_Is413(CancellationToken cancellationToken)
    {
        using X509Certificate2 certificate = CreateCertificate();
        string pfx = Path.Combine(_directory, "api.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pkcs12, "pfx-pass"), cancellationToken);
        await using ServerApi server = await ServerApi.StartAsync(options =>
        {
            options.ApiHttps.Enabled = true;
            options.ApiHttps.Address = IPAddress.Loopback;
            options.ApiHttps.Port = 0;
            options.ApiHttps.CertificateFile = pfx;
            options.ApiHttps.Password = "pfx-pass";
            options.Api.MaxBodySize = 1024;
        }, cancellationToken);
        using HttpClient http = Client(server.Host.ApiHttpsHost!.BaseAddress, certificate.Thumbprint, withCredentials: true);

        using HttpResponseMessage published = await http.PostAsync("/api/v4/mqtt/publish", new StringContent("""{"topic":"t","payload":"x"}"""), cancellationToken);
        using HttpResponseMessage tooLarge = await http.PostAsync("/api/v4/mqtt/publish", new ByteArrayContent(new byte[4096]), cancellationToken);

        Assert.That(published.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await published.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("""{"code":0}"""));
        Assert.That(tooLarge.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
    }

    [TestCase("missing.pem", TestName = "Run_HttpsCertificateMissing_LogsOneLine_AndExitsOne")]
    [TestCase("garbage.pem", TestName = "Run_HttpsCertificateUnreadable_LogsOneLine_AndExitsOne")]
    [TestCase("", TestName = "Run_HttpsWithoutCertificate_LogsOneLine_AndExitsOne")]
    [CancelAfter(60_000)]
    public async Task Run_BadHttpsCertificate_LogsOneLine_AndExitsOne(string file, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", cancellationToken);
        string path = file.Length == 0 ? string.Empty : Path.Combine(_directory, file);
        using var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        bool started = false;

        List<string> args = ["--bind", "127.0.0.1", "--mqtt-port", "0", "--api-bind", "127.0.0.1", "--api-port", "0", "--api-https", "true", "--api-https-port", "0",
            "--data-dir", Path.Combine(_directory, "data")];
        if (path.Length > 0)
        {
            args.AddRange(["--api-https-certfile", path]);
        }

        int exitCode = await ServerCommand.RunAsync(
            args,
            TextWriter.Null, TextWriter.Null, cancellationToken, loggerFactory, _ => started = true).WaitAsync(cancellationToken);

        string[] critical = logs.Lines.Where(l => l.Level == LogLevel.Critical).Select(l => l.Message).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.EqualTo(1));
            Assert.That(started, Is.False);
            Assert.That(critical, Has.Length.EqualTo(1));
            Assert.That(critical[0], Does.Contain("HTTPS").And.Contain(file.Length == 0 ? "--api-https-certfile" : path));
            Assert.That(Directory.GetFiles(_directory, "*", SearchOption.AllDirectories).Where(f => f.EndsWith(".pem", StringComparison.Ordinal) || f.EndsWith(".pfx", StringComparison.Ordinal)),
                Is.EqualTo(new[] { Path.Combine(_directory, "garbage.pem") }), "no certificate is generated in its place");
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly List<(LogLevel Level, string Message)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._lines)
                {
                    owner._lines.Add((logLevel, formatter(state, exception)));
                }
            }
        }
    }
}
