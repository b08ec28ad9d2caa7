using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Tests.TestSupport;

/// <summary>
/// A throwaway PKI made in the test: a CA, a server certificate for 127.0.0.1/localhost and client certificates, all
/// signed by the CA, written as PEM and PFX files into a temporary directory that <see cref="Dispose"/> deletes.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    public const string PfxPassword = "test-pfx-password";

    private readonly X509Certificate2 _ca;

    public TestCertificates()
    {
        Directory = Path.Combine(Path.GetTempPath(), "broker-certs-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Broker Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        _ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, _ca.ExportCertificatePem());

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        using X509Certificate2 server = Issue("CN=localhost", san.Build(), new Oid("1.3.6.1.5.5.7.3.1"), out ECDsa serverKey);
        using (serverKey)
        {
            ServerThumbprint = server.Thumbprint;
            ServerCertFile = Path.Combine(Directory, "server.pem");
            ServerKeyFile = Path.Combine(Directory, "server.key");
            File.WriteAllText(ServerCertFile, server.ExportCertificatePem());
            File.WriteAllText(ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
            ServerPfxFile = Path.Combine(Directory, "server.pfx");
            File.WriteAllBytes(ServerPfxFile, server.CopyWithPrivateKey(serverKey).Export(X509ContentType.Pkcs12, PfxPassword));
        }
    }

    public string Directory { get; }

    public string CaFile { get; }

    public string ServerCertFile { get; }

    public string ServerKeyFile { get; }

    public string ServerPfxFile { get; }

    /// <summary>The server certificate's SHA-1 thumbprint, for clients that pin it instead of trusting the test CA.</summary>
    public string ServerThumbprint { get; }

    /// <summary>A client certificate signed by the test CA, with its key, usable by SslStream on every platform.</summary>
    public X509Certificate2 CreateClientCertificate(string commonName)
    {
        using X509Certificate2 certificate = Issue("CN=" + commonName + ", O=Broker Tests", null, new Oid("1.3.6.1.5.5.7.3.2"), out ECDsa key);
        using (key)
        {
            using X509Certificate2 withKey = certificate.CopyWithPrivateKey(key);
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
    }

    public void Dispose()
    {
        _ca.Dispose();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private X509Certificate2 Issue(string subject, X509Extension? san, Oid usage, out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        return request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
    }
}
