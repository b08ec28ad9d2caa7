using System.Buffers;
using System.Globalization;
using System.Text;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// The CONNECT packet of a run of connections, encoded once: client ids are the prefix plus the connection's index in
/// fixed-width decimal (<c>prefix00042</c>), so every CONNECT of the run has the same length and differs only in the
/// digits at the end of the packet (the client id is the last field when there is no will, user name or password).
/// Each connect worker holds its own copy from <see cref="NewPacket"/> and overwrites the digits with
/// <see cref="SetIndex"/>: no encoder, buffer writer or id string per connection.
/// </summary>
internal sealed class ConnectTemplate
{
    private readonly byte[] _packet;
    private readonly int _digitsOffset;
    private readonly int _digits;
    private readonly string _format;

    public ConnectTemplate(string prefix, int count, ProtocolVersion version, bool cleanStart)
    {
        _digits = Math.Max(1, (count - 1).ToString(CultureInfo.InvariantCulture).Length);
        _format = "D" + _digits.ToString(CultureInfo.InvariantCulture);
        string clientId = prefix + new string('0', _digits);
        _packet = Encode(clientId, version, cleanStart);
        _digitsOffset = _packet.Length - _digits;
        if (!_packet.AsSpan().EndsWith(Encoding.UTF8.GetBytes(clientId)))
        {
            throw new InvalidOperationException("the client id is not the last field of the CONNECT packet");
        }

        Version = version;
    }

    public ProtocolVersion Version { get; }

    /// <summary>The CONNECT packet of one client id (for single connections: soak).</summary>
    public static byte[] Encode(string clientId, ProtocolVersion version, bool cleanStart)
    {
        var output = new ArrayBufferWriter<byte>(64);
        PacketEncoder.WriteConnect(output, new ConnectPacket
        {
            ProtocolVersion = version,
            ClientId = clientId,
            CleanStart = cleanStart,
            // A persistent session needs an expiry in v5 (3.1.1 takes the broker's default).
            Properties = cleanStart || version != ProtocolVersion.V500 ? null : new MqttProperties { SessionExpiryInterval = 300 },
            KeepAlive = 0,   // no PINGREQ traffic: idle connections stay silent, as the scenario intends
        });
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A copy of the packet, owned by one worker; <see cref="SetIndex"/> rewrites its client id in place.</summary>
    public byte[] NewPacket() => (byte[])_packet.Clone();

    public void SetIndex(byte[] packet, int index)
    {
        if (!index.TryFormat(packet.AsSpan(_digitsOffset, _digits), out int written, _format, CultureInfo.InvariantCulture) || written != _digits)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "index wider than the template's client id digits");
        }
    }
}
