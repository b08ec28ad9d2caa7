using System.Net;

namespace Broker.Http.Hosting;

/// <summary>Where and how the <see cref="HttpListenerHost"/> listens; setters check their values.</summary>
public sealed class HttpListenerHostOptions
{
    /// <summary>EMQX's <c>management.listener.http</c>.</summary>
    public const int DefaultPort = 8081;

    private IPAddress _address = IPAddress.Any;
    private int _port = DefaultPort;
    private int _maxBodySize = 1024 * 1024;
    private TimeSpan _ioTimeout = TimeSpan.FromSeconds(15);
    private int _maxConnections = 512;

    /// <summary>The address to bind, 0.0.0.0 (every interface, any Host header).</summary>
    public IPAddress Address
    {
        get => _address;
        set => _address = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The port, 8081; 0 picks a free one.</summary>
    public int Port
    {
        get => _port;
        set => _port = value is >= IPEndPoint.MinPort and <= IPEndPoint.MaxPort ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be between 0 and 65535.");
    }

    /// <summary>Largest request body accepted, 1 MiB; larger ones get 413 without being read.</summary>
    public int MaxBodySize
    {
        get => _maxBodySize;
        set => _maxBodySize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>How long reading a body or writing a response may take before the connection is dropped, 15 s (EMQX's send_timeout).</summary>
    public TimeSpan IoTimeout
    {
        get => _ioTimeout;
        set => _ioTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }

    /// <summary>Requests served at once, 512 (EMQX's max_clients); more get 503.</summary>
    public int MaxConnections
    {
        get => _maxConnections;
        set => _maxConnections = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }
}
