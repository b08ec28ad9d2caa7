using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Tls;

/// <summary>
/// What a TLS listener hands every <see cref="SslStream"/>: the server certificate with its chain, loaded once at start,
/// and the client-certificate policy. Loading fails with a <see cref="TlsCertificateException"/> that names the file.
/// </summary>
internal sealed class TlsServerContext
{
    private readonly TlsListenerOptions _options;

    private TlsServerContext(TlsListenerOptions options, SslServerAuthenticationOptions authentication)
    {
        _options = options;
        Authentication = authentication;
    }

    public SslServerAuthenticationOptions Authentication { get; }

    /// <summary>Reads the certificate, key and CA files named by <paramref name="options"/>.</summary>
    public static TlsServerContext Load(TlsListenerOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.CertificateFile))
        {
            throw new TlsCertificateException("No certificate file is configured (certfile); TLS needs a PEM or PFX certificate and its key.");
        }

        (X509Certificate2 certificate, X509Certificate2Collection intermediates) = LoadServerCertificate(options);
        var authentication = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true),
            EnabledSslProtocols = options.Protocols,
            ClientCertificateRequired = options.Verify == TlsVerifyMode.VerifyPeer,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };

        if (options.Verify == TlsVerifyMode.VerifyPeer)
        {
            if (!string.IsNullOrWhiteSpace(options.CaCertificateFile))
            {
                X509Certificate2Collection authorities = LoadPemCertificates(options.CaCertificateFile, "cacertfile");
                var policy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                };
                policy.CustomTrustStore.AddRange(authorities);
                authentication.CertificateChainPolicy = policy;
            }

            bool failIfNoPeerCertificate = options.FailIfNoPeerCertificate;
            authentication.RemoteCertificateValidationCallback = (_, _, _, errors) =>
                errors == SslPolicyErrors.None || (errors == SslPolicyErrors.RemoteCertificateNotAvailable && !failIfNoPeerCertificate);
        }

        return new TlsServerContext(options, authentication);
    }

    /// <summary>The MQTT username the client certificate stands for (<c>peer_cert_as_username</c>), or null.</summary>
    public string? PeerCertUserName(SslStream stream)
    {
        if (_options.PeerCertAsUserName == PeerCertName.Off || stream.RemoteCertificate is not X509Certificate2 certificate)
        {
            return null;
        }

        string name = _options.PeerCertAsUserName == PeerCertName.Cn
            ? certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)
            : certificate.SubjectName.Name;
        return name.Length == 0 ? null : name;
    }

    private static (X509Certificate2 Certificate, X509Certificate2Collection Intermediates) LoadServerCertificate(TlsListenerOptions options)
    {
        string path = options.CertificateFile!;
        string extension = Path.GetExtension(path);
        try
        {
            if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
            {
                X509Certificate2Collection all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, options.Password);
                X509Certificate2? leaf = null;
                var rest = new X509Certificate2Collection();
                foreach (X509Certificate2 candidate in all)
                {
                    if (leaf is null && candidate.HasPrivateKey)
                    {
                        leaf = candidate;
                    }
                    else
                    {
                        rest.Add(candidate);
                    }
                }

                return (leaf ?? throw new TlsCertificateException($"The certificate file '{path}' holds no private key."), rest);
            }

            string keyPath = string.IsNullOrWhiteSpace(options.KeyFile) ? path : options.KeyFile;
            using X509Certificate2 pem = string.IsNullOrEmpty(options.Password)
                ? X509Certificate2.CreateFromPemFile(path, keyPath)
                : X509Certificate2.CreateFromEncryptedPemFile(path, options.Password, keyPath);

            // A PEM key is ephemeral; SslStream wants a key it can use on every platform, which a PKCS#12 round trip gives.
            X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            X509Certificate2Collection chain = LoadPemCertificates(path, "certfile");
            var intermediates = new X509Certificate2Collection();
            foreach (X509Certificate2 candidate in chain)
            {
                if (!candidate.Thumbprint.Equals(certificate.Thumbprint, StringComparison.Ordinal))
                {
                    intermediates.Add(candidate);
                }
            }

            return (certificate, intermediates);
        }
        catch (TlsCertificateException)
        {
            throw;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            string key = string.IsNullOrWhiteSpace(options.KeyFile) ? string.Empty : $" with key file '{options.KeyFile}'";
            throw new TlsCertificateException($"Cannot load the certificate '{path}'{key}: {ex.Message}", ex);
        }
    }

    private static X509Certificate2Collection LoadPemCertificates(string path, string what)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new TlsCertificateException($"Cannot read the {what} '{path}': {ex.Message}", ex);
        }

        if (certificates.Count == 0)
        {
            throw new TlsCertificateException($"The {what} '{path}' holds no PEM certificate.");
        }

        return certificates;
    }
}
