using System.Security.Cryptography;

namespace Broker.Core.Security;

/// <summary>EMQX's <c>auth.mnesia.password_hash</c> values.</summary>
public enum PasswordHashAlgorithm
{
    /// <summary>No hash (verification of imported records only).</summary>
    Plain,
    /// <summary>MD5 (verification of imported records only).</summary>
    Md5,
    /// <summary>SHA-1 (verification of imported records only).</summary>
    Sha,
    /// <summary>SHA-256, the default.</summary>
    Sha256,
    /// <summary>SHA-512.</summary>
    Sha512,
}

/// <summary>
/// EMQX 4.4's built-in database password format (<c>emqx_auth_mnesia_cli:encrypted_data/1</c>,
/// <c>emqx_auth_mnesia:match_password/3</c>): stored = 4 random salt bytes followed by the lowercase hex of
/// hash(salt ++ password). A stored value exactly as long as an unsalted hex digest is compared unsalted, which keeps
/// records imported from older EMQX versions working.
/// </summary>
public static class PasswordHasher
{
    private const int SaltLength = 4;

    /// <summary>Salts and hashes <paramref name="password"/> (UTF-8) as EMQX stores it.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> password, PasswordHashAlgorithm algorithm)
    {
        Span<byte> salt = stackalloc byte[SaltLength];
        RandomNumberGenerator.Fill(salt);
        return HashWithSalt(password, salt, algorithm);
    }

    internal static byte[] HashWithSalt(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, PasswordHashAlgorithm algorithm)
    {
        byte[] salted = new byte[salt.Length + password.Length];
        salt.CopyTo(salted);
        password.CopyTo(salted.AsSpan(salt.Length));
        byte[] hex = HexDigest(salted, algorithm);
        byte[] stored = new byte[salt.Length + hex.Length];
        salt.CopyTo(stored);
        hex.CopyTo(stored.AsSpan(salt.Length));
        return stored;
    }

    /// <summary>Whether <paramref name="password"/> matches <paramref name="stored"/>; an absent password is checked as empty.</summary>
    public static bool Verify(ReadOnlySpan<byte> password, ReadOnlySpan<byte> stored, PasswordHashAlgorithm algorithm)
    {
        int unsaltedLength = UnsaltedLength(algorithm);
        if (algorithm != PasswordHashAlgorithm.Plain && stored.Length == unsaltedLength)
        {
            return CryptographicOperations.FixedTimeEquals(HexDigest(password, algorithm), stored);
        }

        if (stored.Length < SaltLength)
        {
            return false;
        }

        ReadOnlySpan<byte> salt = stored[..SaltLength];
        byte[] salted = new byte[SaltLength + password.Length];
        salt.CopyTo(salted);
        password.CopyTo(salted.AsSpan(SaltLength));
        return CryptographicOperations.FixedTimeEquals(HexDigest(salted, algorithm), stored[SaltLength..]);
    }

    /// <summary>The hex digest part of a stored password, for the pre-4.3 <c>/auth_user</c> listing that shows it.</summary>
    public static string DigestText(ReadOnlySpan<byte> stored, PasswordHashAlgorithm algorithm)
    {
        ReadOnlySpan<byte> digest = stored.Length == UnsaltedLength(algorithm) || stored.Length < SaltLength ? stored : stored[SaltLength..];
        return System.Text.Encoding.ASCII.GetString(digest);
    }

    /// <summary>Length of an unsalted lowercase hex digest: md5 32, sha 40, sha256 64, sha512 128.</summary>
    private static int UnsaltedLength(PasswordHashAlgorithm algorithm) => algorithm switch
    {
        PasswordHashAlgorithm.Md5 => 32,
        PasswordHashAlgorithm.Sha => 40,
        PasswordHashAlgorithm.Sha256 => 64,
        PasswordHashAlgorithm.Sha512 => 128,
        _ => -1,
    };

#pragma warning disable CA5350, CA5351 // MD5 and SHA-1 only verify records imported from EMQX; new passwords use SHA-256/512.
    private static byte[] HexDigest(ReadOnlySpan<byte> data, PasswordHashAlgorithm algorithm)
    {
        byte[] digest = algorithm switch
        {
            PasswordHashAlgorithm.Plain => data.ToArray(),
            PasswordHashAlgorithm.Md5 => MD5.HashData(data),
            PasswordHashAlgorithm.Sha => SHA1.HashData(data),
            PasswordHashAlgorithm.Sha256 => SHA256.HashData(data),
            PasswordHashAlgorithm.Sha512 => SHA512.HashData(data),
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
        };
#pragma warning restore CA5350, CA5351
        if (algorithm == PasswordHashAlgorithm.Plain)
        {
            return digest;
        }

        return System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(digest));
    }
}
