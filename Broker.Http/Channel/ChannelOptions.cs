namespace Broker.Http.Channel;

/// <summary>Limits of the cloud-edge channel; setters check their values.</summary>
public sealed class ChannelOptions
{
    private TimeSpan _accessTokenLifetime = TimeSpan.FromHours(1);
    private TimeSpan _refreshTokenLifetime = TimeSpan.FromDays(7);
    private TimeSpan _upstreamTimeout = TimeSpan.FromSeconds(30);
    private int _maxLocalBodySize = 1024 * 1024;

    /// <summary>How long an access token is accepted, 1 h (a dashboard session; refresh renews it).</summary>
    public TimeSpan AccessTokenLifetime
    {
        get => _accessTokenLifetime;
        set => _accessTokenLifetime = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>How long a refresh token may be traded for a new pair, 7 days; at least the access lifetime.</summary>
    public TimeSpan RefreshTokenLifetime
    {
        get => _refreshTokenLifetime;
        set => _refreshTokenLifetime = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>How long an upstream may take to connect and send its response headers before the caller gets 504, 30 s.</summary>
    public TimeSpan UpstreamTimeout
    {
        get => _upstreamTimeout;
        set => _upstreamTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>
    /// Largest body forwarded to the <c>local</c> cluster, 1 MiB (the API's own limit): the in-process call hands the
    /// handlers a parsed body, so it is read whole; larger ones get 413.
    /// </summary>
    public int MaxLocalBodySize
    {
        get => _maxLocalBodySize;
        set => _maxLocalBodySize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }
}
