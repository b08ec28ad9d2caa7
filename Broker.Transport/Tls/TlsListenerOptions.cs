using System.Security.Authentication;

namespace Broker.Transport.Tls;

/// <summary>Whether a TLS listener asks for and checks a client certificate (EMQX's <c>verify</c>).</summary>
public enum TlsVerifyMode
{
    /// <summary><c>verify_none</c>: no client certificate is requested.</summary>
    VerifyNone,

    /// <summary><c>verify_peer</c>: a client certificate is requested and, when sent, must chain to the CA file (or the system roots).</summary>
    VerifyPeer,
}

/// <summary>Which name of the client certificate becomes the MQTT username (EMQX's <c>peer_cert_as_username</c>).</summary>
public enum PeerCertName
{
    /// <summary>The CONNECT packet's User Name is used.</summary>
    Off,

    /// <summary>The certificate subject's common name.</summary>
    Cn,

    /// <summary>The certificate subject's distinguished name, for example <c>CN=dev1, O=Acme</c>.</summary>
    Dn,
}

/// <summary>
/// The TLS settings of an MQTT/SSL or WSS listener, named after EMQX 4.4's <c>listener.ssl.external.*</c>. The
/// certificate is read when the listener starts; nothing is ever generated.
/// </summary>
public sealed class TlsListenerOptions
{
    private TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(15);
    private SslProtocols _protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// <c>certfile</c>: the server certificate, a PEM file (leaf first, then intermediates; the key may follow in the same
    /// file) or a PKCS#12 file (<c>.pfx</c>, <c>.p12</c>) holding certificate and key.
    /// </summary>
    public string? CertificateFile { get; set; }

    /// <summary><c>keyfile</c>: the PEM private key, when it is not in <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary><c>password</c>: of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    /// <summary><c>cacertfile</c>: PEM certificates client certificates must chain to; none: the system's trusted roots.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary><c>verify</c>, <see cref="TlsVerifyMode.VerifyNone"/>.</summary>
    public TlsVerifyMode Verify { get; set; }

    /// <summary><c>fail_if_no_peer_cert</c>, false: with <see cref="TlsVerifyMode.VerifyPeer"/>, refuse clients that send no certificate.</summary>
    public bool FailIfNoPeerCertificate { get; set; }

    /// <summary><c>peer_cert_as_username</c>, off.</summary>
    public PeerCertName PeerCertAsUserName { get; set; }

    /// <summary><c>tls_versions</c>: TLS 1.2 and 1.3; older versions are refused.</summary>
    public SslProtocols Protocols
    {
        get => _protocols;
        set => _protocols = value is SslProtocols.Tls12 or SslProtocols.Tls13 or (SslProtocols.Tls12 | SslProtocols.Tls13)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "Only TLS 1.2 and TLS 1.3 are offered.");
    }

    /// <summary><c>handshake_timeout</c>, 15 s: a client that has not finished its handshake by then is closed.</summary>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        set => _handshakeTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }
}
