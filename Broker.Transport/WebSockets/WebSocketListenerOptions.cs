namespace Broker.Transport.WebSockets;

/// <summary>
/// The WebSocket settings of an MQTT/WS or WSS listener, named after EMQX 4.4's <c>listener.ws.external.*</c>.
/// Setters check their values.
/// </summary>
public sealed class WebSocketListenerOptions
{
    private static readonly System.Buffers.SearchValues<char> s_notInToken = System.Buffers.SearchValues.Create(" ,;\t\"\r\n");

    private string _path = "/mqtt";
    private string[] _subprotocols = ["mqtt", "mqtt-v3", "mqtt-v3.1.1", "mqtt-v5", "mqttv3.1"];
    private int _maxHandshakeSize = 8 * 1024;
    private TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(15);

    /// <summary><c>mqtt_path</c>, <c>/mqtt</c>: the request path an upgrade must ask for; other paths get 404.</summary>
    public string Path
    {
        get => _path;
        set => _path = value is { Length: > 0 } && value[0] == '/' && !value.Contains(' ', StringComparison.Ordinal)
            ? value
            : throw new ArgumentException("A path starts with '/' and has no spaces.", nameof(value));
    }

    /// <summary>
    /// <c>supported_subprotocols</c>: EMQX's <c>mqtt, mqtt-v3, mqtt-v3.1.1, mqtt-v5</c>, plus <c>mqttv3.1</c> that MQTT 3.1
    /// clients (the first Paho JavaScript client) ask for. The first one the client offers that is listed here is chosen.
    /// </summary>
    public IReadOnlyList<string> SupportedSubprotocols
    {
        get => _subprotocols;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0)
            {
                throw new ArgumentException("At least one subprotocol.", nameof(value));
            }

            foreach (string subprotocol in value)
            {
                if (string.IsNullOrWhiteSpace(subprotocol) || subprotocol.AsSpan().ContainsAny(s_notInToken))
                {
                    throw new ArgumentException($"'{subprotocol}' is not a subprotocol token.", nameof(value));
                }
            }

            _subprotocols = [.. value];
        }
    }

    /// <summary>
    /// <c>fail_if_no_subprotocol</c>, true (EMQX's default): an upgrade without <c>Sec-WebSocket-Protocol</c> gets 400.
    /// False accepts it without a subprotocol. An offer of only unsupported subprotocols always gets 400.
    /// </summary>
    public bool FailIfNoSubprotocol { get; set; } = true;

    /// <summary>
    /// The largest upgrade request (request line and headers) read, 8 KB; a larger one gets 431. Not an EMQX option
    /// (cowboy bounds each header line instead).
    /// </summary>
    public int MaxHandshakeSize
    {
        get => _maxHandshakeSize;
        set => _maxHandshakeSize = value is >= 256 and <= 1024 * 1024 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be between 256 and 1048576.");
    }

    /// <summary>How long the upgrade request may take to arrive, 15 s; then the connection is closed.</summary>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        set => _handshakeTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive.");
    }
}
