using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Broker.Http.Channel;

/// <summary>An access token and the refresh token that renews it, as handed out once by the login route.</summary>
public readonly record struct ChannelTokenPair(string AccessToken, string RefreshToken, long ExpiresIn, long RefreshExpiresIn);

/// <summary>
/// Bearer tokens of the cloud-edge channel: 256 random bits, base64url, kept only as their SHA-256 with the user and
/// expiry, so a memory dump or log of the table yields nothing usable. An access token lives
/// <see cref="AccessLifetime"/>; the refresh token (longer) is single-use: refreshing revokes the pair and issues a new
/// one, so a stolen refresh token is noticed when either party's next refresh fails. Tokens live in memory: a restart
/// logs everyone out, as with a session cookie.
/// </summary>
public sealed class ChannelTokens
{
    private const int TokenBytes = 32;
    private const int SweepThreshold = 1024;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private int _issuedSinceSweep;

    public ChannelTokens(TimeSpan accessLifetime, TimeSpan refreshLifetime, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(accessLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(refreshLifetime, accessLifetime);
        AccessLifetime = accessLifetime;
        RefreshLifetime = refreshLifetime;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    public TimeSpan AccessLifetime { get; }

    public TimeSpan RefreshLifetime { get; }

    /// <summary>Issues a new pair for a user who has just proved their password.</summary>
    public ChannelTokenPair Issue(string username)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        SweepSometimes();
        DateTimeOffset now = _timeProvider.GetUtcNow();
        (string access, string accessKey) = NewToken();
        (string refresh, string refreshKey) = NewToken();
        _entries[accessKey] = new Entry(username, now + AccessLifetime, IsRefresh: false, Partner: refreshKey);
        _entries[refreshKey] = new Entry(username, now + RefreshLifetime, IsRefresh: true, Partner: accessKey);
        return new ChannelTokenPair(access, refresh, (long)AccessLifetime.TotalSeconds, (long)RefreshLifetime.TotalSeconds);
    }

    /// <summary>The user an <c>Authorization</c> header's valid, unexpired Bearer access token belongs to, or null.</summary>
    public string? Authenticate(string? authorization)
    {
        const string Prefix = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return Lookup(authorization.AsSpan(Prefix.Length).Trim(), refresh: false, out string? key) is { } entry && key is not null ? entry.Username : null;
    }

    /// <summary>Trades a refresh token for a new pair, revoking the old one; null when unknown, used or expired.</summary>
    public ChannelTokenPair? Refresh(string refreshToken)
    {
        ArgumentNullException.ThrowIfNull(refreshToken);
        if (Lookup(refreshToken.AsSpan().Trim(), refresh: true, out string? key) is not { } entry || key is null)
        {
            return null;
        }

        // Only the caller that removes it wins; a replay racing it gets null.
        if (!_entries.TryRemove(key, out _))
        {
            return null;
        }

        _entries.TryRemove(entry.Partner, out _);
        return Issue(entry.Username);
    }

    /// <summary>Revokes the pair of an access token (logout); false when it was not valid.</summary>
    public bool Revoke(string? authorization)
    {
        const string Prefix = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
            || Lookup(authorization.AsSpan(Prefix.Length).Trim(), refresh: false, out string? key) is not { } entry || key is null)
        {
            return false;
        }

        _entries.TryRemove(key, out _);
        _entries.TryRemove(entry.Partner, out _);
        return true;
    }

    /// <summary>Revokes every token of a user (the user was deleted).</summary>
    public void RevokeUser(string username)
    {
        foreach (KeyValuePair<string, Entry> pair in _entries)
        {
            if (pair.Value.Username == username)
            {
                _entries.TryRemove(pair.Key, out _);
            }
        }
    }

    private Entry? Lookup(ReadOnlySpan<char> token, bool refresh, out string? key)
    {
        key = null;
        Span<byte> raw = stackalloc byte[TokenBytes + 3];
        if (token.Length != 43 || Base64Url.DecodeFromChars(token, raw, out _, out int written) != System.Buffers.OperationStatus.Done || written != TokenBytes)
        {
            return null;
        }

        string hashed = Key(raw[..TokenBytes]);
        if (!_entries.TryGetValue(hashed, out Entry? entry) || entry.IsRefresh != refresh)
        {
            return null;
        }

        if (entry.ExpiresAt <= _timeProvider.GetUtcNow())
        {
            _entries.TryRemove(hashed, out _);
            return null;
        }

        key = hashed;
        return entry;
    }

    private static (string Token, string Key) NewToken()
    {
        Span<byte> raw = stackalloc byte[TokenBytes];
        RandomNumberGenerator.Fill(raw);
        return (Base64Url.EncodeToString(raw), Key(raw));
    }

    private static string Key(ReadOnlySpan<byte> raw)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(raw, hash);
        return Convert.ToHexString(hash);
    }

    private void SweepSometimes()
    {
        if (Interlocked.Increment(ref _issuedSinceSweep) < SweepThreshold)
        {
            return;
        }

        Volatile.Write(ref _issuedSinceSweep, 0);
        DateTimeOffset now = _timeProvider.GetUtcNow();
        foreach (KeyValuePair<string, Entry> pair in _entries)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _entries.TryRemove(pair.Key, out _);
            }
        }
    }

    private sealed record Entry(string Username, DateTimeOffset ExpiresAt, bool IsRefresh, string Partner);
}
