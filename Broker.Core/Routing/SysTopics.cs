using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Protocol;

namespace Broker.Core.Routing;

/// <summary>
/// EMQX's <c>$SYS/brokers/{node}/...</c> topics: version, sysdescr, uptime and datetime; client connected and
/// disconnected events (JSON); stats and metrics every <c>sys_interval</c>. Retained where EMQX retains them.
/// </summary>
internal sealed class SysTopics
{
    private readonly MqttBroker _broker;
    private long _nextPublish;
    private bool _startPublished;

    public SysTopics(MqttBroker broker)
    {
        _broker = broker;
    }

    private byte[]? _clientsPrefix;

    private bool Enabled => _broker.Options.SysTopicsEnabled;

    private string Prefix => "$SYS/brokers/" + _broker.Options.NodeName + "/";

    public void Tick(long now)
    {
        if (!Enabled)
        {
            return;
        }

        if (!_startPublished)
        {
            _startPublished = true;
            Publish("$SYS/brokers", _broker.Options.NodeName, retain: true);
            Publish(Prefix + "version", MqttBroker.Version, retain: true);
            Publish(Prefix + "sysdescr", "Broker.Core MQTT broker", retain: true);
        }

        TimeSpan interval = _broker.Options.SysInterval;
        if (interval <= TimeSpan.Zero || now < _nextPublish)
        {
            return;
        }

        _nextPublish = now + (long)(interval.TotalSeconds * _broker.TimeProvider.TimestampFrequency);
        string prefix = Prefix;
        TimeSpan uptime = _broker.TimeProvider.GetUtcNow() - _broker.StartedAt;
        Publish(prefix + "uptime", FormatUptime(uptime), retain: false);
        Publish(prefix + "datetime", _broker.TimeProvider.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), retain: false);
        foreach (KeyValuePair<string, long> stat in _broker.Stats.Snapshot())
        {
            Publish(prefix + "stats/" + stat.Key.Replace('.', '/'), stat.Value.ToString(CultureInfo.InvariantCulture), retain: false);
        }

        foreach (KeyValuePair<string, long> metric in _broker.Counters.Snapshot())
        {
            Publish(prefix + "metrics/" + metric.Key.Replace('.', '/'), metric.Value.ToString(CultureInfo.InvariantCulture), retain: false);
        }
    }

    /// <summary>EMQX's uptime text, e.g. "1 days, 2 hours, 3 minutes, 4 seconds".</summary>
    internal static string FormatUptime(TimeSpan uptime)
    {
        var text = new StringBuilder();
        if (uptime.Days > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{uptime.Days} days, ");
        }

        if (uptime.Days > 0 || uptime.Hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{uptime.Hours} hours, ");
        }

        if (uptime.TotalMinutes >= 1)
        {
            text.Append(CultureInfo.InvariantCulture, $"{uptime.Minutes} minutes, ");
        }

        text.Append(CultureInfo.InvariantCulture, $"{uptime.Seconds} seconds");
        return text.ToString();
    }

    public void ClientConnected(MqttConnection connection)
    {
        if (Enabled && ClientEventHasSubscribers(connection.ClientId, "/connected"u8, out byte[]? topic))
        {
            PublishConnected(connection, topic);
        }
    }

    private void PublishConnected(MqttConnection connection, byte[] topic)
    {
        byte[] json = Json(w =>
        {
            w.WriteString("clientid", connection.ClientId);
            w.WriteString("username", connection.UserName);
            w.WriteString("ipaddress", Address(connection.Info));
            if (connection.Info.LocalEndPoint is System.Net.IPEndPoint local)
            {
                w.WriteNumber("sockport", local.Port);
            }
            else
            {
                w.WriteNull("sockport");
            }

            w.WriteString("proto_name", connection.Version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT");
            w.WriteNumber("proto_ver", (int)connection.Version);
            w.WriteNumber("keepalive", connection.KeepAlive);
            w.WriteNumber("connack", 0);
            w.WriteBoolean("clean_start", connection.CleanStart);
            w.WriteNumber("expiry_interval", connection.SessionExpiryInterval);
            w.WriteNumber("connected_at", connection.ConnectedAt.ToUnixTimeMilliseconds());
            w.WriteNumber("ts", _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        });
        Publish(topic, json);
    }

    /// <summary>
    /// Whether anyone subscribes to <c>$SYS/brokers/{node}/clients/{clientid}{suffix}</c>; the topic is built (and
    /// allocated) only then. Events are not retained, so with nobody subscribed a connect or disconnect costs nothing here.
    /// </summary>
    private bool ClientEventHasSubscribers(string? clientId, ReadOnlySpan<byte> suffix, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? topic)
    {
        topic = null;
        byte[] prefix = _clientsPrefix ??= Encoding.UTF8.GetBytes(Prefix + "clients/");
        clientId ??= string.Empty;
        int length = prefix.Length + Encoding.UTF8.GetMaxByteCount(clientId.Length) + suffix.Length;
        byte[]? rented = length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> buffer = rented ?? stackalloc byte[512];
        try
        {
            prefix.CopyTo(buffer);
            int written = prefix.Length + Encoding.UTF8.GetBytes(clientId, buffer[prefix.Length..]);
            suffix.CopyTo(buffer[written..]);
            written += suffix.Length;
            if (!_broker.Router.HasSubscribers(buffer[..written]))
            {
                return false;
            }

            topic = buffer[..written].ToArray();
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public void ClientDisconnected(MqttConnection connection, DisconnectReason reason)
    {
        if (Enabled && ClientEventHasSubscribers(connection.ClientId, "/disconnected"u8, out byte[]? topic))
        {
            PublishDisconnected(connection, reason, topic);
        }
    }

    private void PublishDisconnected(MqttConnection connection, DisconnectReason reason, byte[] topic)
    {
        byte[] json = Json(w =>
        {
            w.WriteString("clientid", connection.ClientId);
            w.WriteString("username", connection.UserName);
            w.WriteString("reason", ReasonName(reason));
            long now = _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            w.WriteNumber("disconnected_at", now);
            w.WriteNumber("ts", now);
        });
        Publish(topic, json);
    }

    /// <summary>EMQX's disconnect reason words.</summary>
    internal static string ReasonName(DisconnectReason reason) => reason switch
    {
        DisconnectReason.ClientDisconnect or DisconnectReason.ClientDisconnectWithWill => "normal",
        DisconnectReason.KeepAliveTimeout => "keepalive_timeout",
        DisconnectReason.TakenOver => "takeovered",
        DisconnectReason.Kicked => "kicked",
        DisconnectReason.MalformedPacket => "frame_error",
        DisconnectReason.ProtocolError => "protocol_error",
        DisconnectReason.ServerShutdown => "shutdown",
        DisconnectReason.ConnectTimeout => "idle_timeout",
        _ => "closed",
    };

    internal static string? Address(ConnectionInfo info) => info.RemoteEndPoint switch
    {
        System.Net.IPEndPoint ip => ip.Address.ToString(),
        null => null,
        var other => other.ToString(),
    };

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private void Publish(string topic, string payload, bool retain) => Publish(topic, Encoding.UTF8.GetBytes(payload), retain);

    private void Publish(string topic, byte[] payload, bool retain = false) => Publish(Encoding.UTF8.GetBytes(topic), payload, retain);

    private void Publish(byte[] topic, byte[] payload, bool retain = false)
    {
        var message = new Message(topic, payload, QualityOfService.AtMostOnce, retain)
        {
            IsSystem = true,
            Timestamp = _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        _broker.PublishInternal(message);
    }
}
