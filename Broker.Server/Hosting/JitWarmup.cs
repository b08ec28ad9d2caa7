using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Core;
using Broker.Core.Configuration;
using Broker.Transport.Tcp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server.Hosting;

/// <summary>
/// Runs two clients through a private broker over loopback TCP before the real listeners open: CONNECT, SUBSCRIBE, a
/// retained message, PUBLISH at QoS 0, 1 and 2 both ways, PINGREQ, UNSUBSCRIBE and DISCONNECT, in MQTT 3.1.1 and 5.0.
/// </summary>
/// <remarks>
/// The server ships with tiered compilation off (<c>Broker.Server.csproj</c>), so every method is compiled fully on its
/// first call. Without this, the first clients pay for compiling the connect, routing and delivery paths: measured as
/// 6-9 µs more broker CPU per connect over the first 10,000 connects, and 0.06 KB of RSS per connection that is the
/// JIT's, not theirs (<c>Broker.Bench/results/idle-connections.md</c>). The private broker has its own counters,
/// sessions and retained store and is disposed afterwards: nothing of it is visible in the real one. A failure here is
/// never fatal, it only means a slower first client.
/// </remarks>
internal static class JitWarmup
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(5);

    /// <summary>Runs the clients; returns how long it took, or the reason it stopped early.</summary>
    public static async Task<(TimeSpan Elapsed, string? Failure)> RunAsync(SocketListenerOptions template)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await using var broker = new MqttBroker(new BrokerOptions(), NullLoggerFactory.Instance);
            var options = new SocketListenerOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Acceptors = 1,
                PreferInlineScheduling = template.PreferInlineScheduling,
                WaitForDataBeforeAllocatingBuffer = template.WaitForDataBeforeAllocatingBuffer,
                MaxWriteBufferSize = template.MaxWriteBufferSize,
            };
            await using var listener = new SocketListener(options, broker.RunConnectionAsync, NullLoggerFactory.Instance);
            await listener.StartAsync().ConfigureAwait(false);
            EndPoint endPoint = listener.EndPoint;

            // Blocking sockets with timeouts on a pool thread: simple, and nothing here can hang start-up.
            await Task.Run(() =>
            {
                Exchange(endPoint, version: 4);
                Exchange(endPoint, version: 5);
            }).WaitAsync(s_timeout).ConfigureAwait(false);
            return (Stopwatch.GetElapsedTime(started), null);
        }
#pragma warning disable CA1031 // Whatever went wrong, the real broker starts; the caller logs the reason.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return (Stopwatch.GetElapsedTime(started), ex.Message);
        }
    }

    private static void Exchange(EndPoint endPoint, byte version)
    {
        using var publisher = new RawClient(endPoint, version);
        using var subscriber = new RawClient(endPoint, version);
        publisher.Connect("$warmup-pub");
        subscriber.Connect("$warmup-sub");

        publisher.Publish("warmup/retained", qos: 1, packetId: 1, retain: true);
        publisher.Expect(PubAck);
        subscriber.Subscribe(packetId: 1, "warmup/+", qos: 2);
        subscriber.Expect(SubAck);
        subscriber.Acknowledge(subscriber.Expect(PublishType));   // the retained message

        publisher.Publish("warmup/a", qos: 0, packetId: 0, retain: false);
        publisher.Publish("warmup/a", qos: 1, packetId: 2, retain: false);
        publisher.Expect(PubAck);
        publisher.Publish("warmup/a", qos: 2, packetId: 3, retain: false);
        publisher.Expect(PubRec);
        publisher.Send([PubRel | 0x02, 2, 0, 3]);
        publisher.Expect(PubComp);

        for (int i = 0; i < 3; i++)
        {
            subscriber.Acknowledge(subscriber.Expect(PublishType));
        }

        subscriber.Send([PingReq, 0]);
        subscriber.Expect(PingResp);
        subscriber.Unsubscribe(packetId: 2, "warmup/+");
        subscriber.Expect(UnsubAck);
        publisher.Send([Disconnect, 0]);
        subscriber.Send([Disconnect, 0]);
    }

    private const byte ConnAck = 0x20;
    private const byte PublishType = 0x30;
    private const byte PubAck = 0x40;
    private const byte PubRec = 0x50;
    private const byte PubRel = 0x60;
    private const byte PubComp = 0x70;
    private const byte SubAck = 0x90;
    private const byte UnsubAck = 0xB0;
    private const byte PingReq = 0xC0;
    private const byte PingResp = 0xD0;
    private const byte Disconnect = 0xE0;

    /// <summary>Just enough of an MQTT client for the exchange above: whole packets in, whole packets out.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly byte _version;
        private readonly byte[] _buffer = new byte[512];
        private int _start;
        private int _end;

        public RawClient(EndPoint endPoint, byte version)
        {
            _version = version;
            _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true,
                ReceiveTimeout = (int)s_timeout.TotalMilliseconds,
                SendTimeout = (int)s_timeout.TotalMilliseconds,
            };
            _socket.Connect(endPoint);
        }

        private bool IsV5 => _version == 5;

        public void Connect(string clientId)
        {
            var body = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', _version, 0x02, 0, 60 };
            if (IsV5)
            {
                body.Add(0);   // no properties
            }

            AddString(body, clientId);
            Send(Frame(0x10, body));
            (byte _, byte[] connAck) = Expect(ConnAck);
            if (connAck.Length < 2 || connAck[1] != 0)
            {
                throw new InvalidOperationException("CONNACK refused.");
            }
        }

        public void Subscribe(ushort packetId, string filter, byte qos)
        {
            var body = new List<byte> { (byte)(packetId >> 8), (byte)packetId };
            if (IsV5)
            {
                body.Add(0);
            }

            AddString(body, filter);
            body.Add(qos);
            Send(Frame(0x82, body));
        }

        public void Unsubscribe(ushort packetId, string filter)
        {
            var body = new List<byte> { (byte)(packetId >> 8), (byte)packetId };
            if (IsV5)
            {
                body.Add(0);
            }

            AddString(body, filter);
            Send(Frame(0xA2, body));
        }

        public void Publish(string topic, byte qos, ushort packetId, bool retain)
        {
            var body = new List<byte>();
            AddString(body, topic);
            if (qos > 0)
            {
                body.Add((byte)(packetId >> 8));
                body.Add((byte)packetId);
            }

            if (IsV5)
            {
                body.Add(0);
            }

            body.AddRange("warm-up"u8.ToArray());
            Send(Frame((byte)(PublishType | (qos << 1) | (retain ? 1 : 0)), body));
        }

        /// <summary>Completes a delivered PUBLISH as a subscriber: PUBACK at QoS 1, PUBREC/PUBREL/PUBCOMP at QoS 2.</summary>
        public void Acknowledge((byte Flags, byte[] Body) publish)
        {
            int qos = (publish.Flags >> 1) & 0x03;
            if (qos == 0)
            {
                return;
            }

            int topicLength = BinaryPrimitives.ReadUInt16BigEndian(publish.Body);
            byte high = publish.Body[2 + topicLength];
            byte low = publish.Body[3 + topicLength];
            if (qos == 1)
            {
                Send([PubAck, 2, high, low]);
                return;
            }

            Send([PubRec, 2, high, low]);
            Expect(PubRel);
            Send([PubComp, 2, high, low]);
        }

        public void Send(ReadOnlySpan<byte> packet)
        {
            while (!packet.IsEmpty)
            {
                packet = packet[_socket.Send(packet)..];
            }
        }

        /// <summary>Reads the next packet, which must be of <paramref name="type"/>; returns its flags and body.</summary>
        public (byte Flags, byte[] Body) Expect(byte type)
        {
            while (true)
            {
                if (TryFrame(out byte first, out int bodyStart, out int bodyLength))
                {
                    byte[] body = _buffer.AsSpan(bodyStart, bodyLength).ToArray();
                    _start = bodyStart + bodyLength;
                    return (first & 0xF0) == type
                        ? ((byte)(first & 0x0F), body)
                        : throw new InvalidOperationException($"Expected packet type 0x{type:X2}, got 0x{first:X2}.");
                }

                if (_start > 0)
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    _end -= _start;
                    _start = 0;
                }

                int received = _socket.Receive(_buffer.AsSpan(_end));
                if (received == 0)
                {
                    throw new InvalidOperationException("The broker closed the connection.");
                }

                _end += received;
            }
        }

        public void Dispose() => _socket.Dispose();

        private bool TryFrame(out byte first, out int bodyStart, out int bodyLength)
        {
            first = 0;
            bodyStart = 0;
            bodyLength = 0;
            if (_end - _start < 2)
            {
                return false;
            }

            first = _buffer[_start];
            int length = 0;
            int shift = 0;
            int i = _start + 1;
            while (true)
            {
                if (i == _end || shift > 21)
                {
                    return false;
                }

                byte b = _buffer[i++];
                length |= (b & 0x7F) << shift;
                shift += 7;
                if ((b & 0x80) == 0)
                {
                    break;
                }
            }

            if (_end - i < length)
            {
                return i + length <= _buffer.Length ? false : throw new InvalidOperationException("Packet larger than the buffer.");
            }

            bodyStart = i;
            bodyLength = length;
            return true;
        }

        private static void AddString(List<byte> body, string value)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(value);
            body.Add((byte)(utf8.Length >> 8));
            body.Add((byte)utf8.Length);
            body.AddRange(utf8);
        }

        private static byte[] Frame(byte first, List<byte> body)
        {
            // Bodies here are under 128 bytes: a one-byte remaining length.
            Debug.Assert(body.Count < 128);
            var packet = new byte[2 + body.Count];
            packet[0] = first;
            packet[1] = (byte)body.Count;
            body.CopyTo(packet, 2);
            return packet;
        }
    }
}
