using System.Net;

namespace Broker.Server.Hosting;

/// <summary>Where and how the HTTPS management host listens, and its certificate; setters check their values.</summary>
internal sealed class KestrelHostOptions
{
    /// <summary>
    /// 8443: EMQX 4.4 ships HTTPS commented out on 8081, which the plain host already holds; 8443 is the HTTPS port of
    /// the EMQX Cloud management API the contract's examples call (spec/v4-http-api.md, <c>https://…:8443/api/…</c>).
    /// </summary>
    public const int DefaultPort = 8443;

    private IPAddress _address = IPAddress.Any;
    private int _port = DefaultPort;

    /// <summary>Whether the HTTPS host is served, false (the plain HTTP host is the default).</summary>
    public bool Enabled { get; set; }

    /// <summary>The address to bind, 0.0.0.0.</summary>
    public IPAddress Address
    {
        get => _address;
        set => _address = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The port, 8443; 0 picks a free one.</summary>
    public int Port
    {
        get => _port;
        set => _port = value is >= IPEndPoint.MinPort and <= IPEndPoint.MaxPort ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be between 0 and 65535.");
    }

    /// <summary>The certificate: a PEM file (with <see cref="KeyFile"/>, or holding the key itself) or a PFX/PKCS#12 file.</summary>
    public string CertificateFile { get; set; } = string.Empty;

    /// <summary>The PEM private key file; empty when the certificate file holds the key (PEM) or is a PFX.</summary>
    public string KeyFile { get; set; } = string.Empty;

    /// <summary>The PFX password, or the password of an encrypted PEM key; empty for none.</summary>
    public string Password { get; set; } = string.Empty;
}
