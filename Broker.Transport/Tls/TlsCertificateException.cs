namespace Broker.Transport.Tls;

/// <summary>
/// A TLS listener cannot start: no certificate configured, or the file is missing, unreadable or not a certificate
/// with its key. An <see cref="IOException"/>, so a host treats it as any listener that cannot bind.
/// </summary>
public sealed class TlsCertificateException : IOException
{
    public TlsCertificateException(string message)
        : base(message)
    {
    }

    public TlsCertificateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
