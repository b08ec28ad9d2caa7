using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Http.Auth;

/// <summary>
/// Salted PBKDF2-SHA256 for AppSecrets, stored as <c>pbkdf2-sha256$iterations$salt$hash</c> (base64). EMQX 4.4 keeps
/// app secrets in plain text; here only this form is ever written to disk.
/// </summary>
public static class SecretHasher
{
    /// <summary>
    /// Iterations for new secrets. Below OWASP's 600,000 for passwords because AppSecrets are usually random; a
    /// weak one (the default <c>public</c>) is the operator's to change. The first request of an app pays one run.
    /// </summary>
    public const int DefaultIterations = 100_000;

    private const string Scheme = "pbkdf2-sha256";
    private const int SaltSize = 16;
    private const int HashSize = 32;

    public static string Hash(string secret, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        byte[] salt = RandomNumberGenerator.GetBytes(SaltSize);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, HashSize);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>Whether <paramref name="secret"/> matches <paramref name="stored"/>, in constant time for equal lengths.</summary>
    public static bool Verify(string secret, string stored)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!TryParse(stored, out int iterations, out byte[] salt, out byte[] expected))
        {
            return false;
        }

        byte[] actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>The salt of a stored hash (for the in-memory verification cache), or empty.</summary>
    internal static byte[] GetSalt(string stored) => TryParse(stored, out _, out byte[] salt, out _) ? salt : [];

    private static bool TryParse(string? stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = [];
        hash = [];
        string[]? parts = stored?.Split('$');
        if (parts is not [Scheme, string count, string saltText, string hashText]
            || !int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(saltText);
            hash = Convert.FromBase64String(hashText);
            return hash.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
