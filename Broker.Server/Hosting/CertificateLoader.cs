using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Server.Hosting;

/// <summary>
/// Loads the HTTPS certificate the operator named: PEM certificate plus PEM key, a PEM file holding both, or a
/// PFX/PKCS#12 file. Any failure is one <see cref="IOException"/> naming the file and the reason; nothing is ever
/// generated in its place.
/// </summary>
internal static class CertificateLoader
{
    public static X509Certificate2 Load(string certificateFile, string keyFile, string password, string optionPrefix)
    {
        if (string.IsNullOrEmpty(certificateFile))
        {
            throw new IOException($"--{optionPrefix}-certfile is required to serve HTTPS.");
        }

        try
        {
            string? passwordOrNull = password.Length == 0 ? null : password;
            if (keyFile.Length > 0 || IsPem(certificateFile))
            {
                string key = keyFile.Length > 0 ? keyFile : certificateFile;
                using X509Certificate2 pem = passwordOrNull is null
                    ? X509Certificate2.CreateFromPemFile(certificateFile, key)
                    : X509Certificate2.CreateFromEncryptedPemFile(certificateFile, passwordOrNull, key);

                // A PEM key is ephemeral; SslStream needs it in a store-backed form on some platforms (Windows).
                return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }

            X509Certificate2 pfx = X509CertificateLoader.LoadPkcs12FromFile(certificateFile, passwordOrNull);
            if (!pfx.HasPrivateKey)
            {
                pfx.Dispose();
                throw new CryptographicException("the certificate has no private key");
            }

            return pfx;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            string file = keyFile.Length > 0 ? $"'{certificateFile}' / key '{keyFile}'" : $"'{certificateFile}'";
            throw new IOException($"Cannot load the HTTPS certificate {file}: {ex.Message}", ex);
        }
    }

    private static bool IsPem(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> head = stackalloc byte[64];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head[..read].IndexOf("-----BEGIN"u8) >= 0;
    }
}
