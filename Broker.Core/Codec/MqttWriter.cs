using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Broker.Core.Codec;

/// <summary>
/// Writes fields into a span sized up front by the encoder (remaining length is computed first, so nothing is
/// ever moved). Bounds are the span's: a size miscalculation fails loudly instead of corrupting the stream.
/// </summary>
public ref struct MqttWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _position;

    public readonly int Position => _position;

    public void WriteByte(byte value) => _destination[_position++] = value;

    public void WriteTwoByteInteger(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_destination[_position..], value);
        _position += 2;
    }

    public void WriteFourByteInteger(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_destination[_position..], value);
        _position += 4;
    }

    public void WriteVariableByteInteger(int value) => _position += VariableByteInteger.Write(_destination[_position..], value);

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_destination[_position..]);
        _position += bytes.Length;
    }

    /// <summary>Binary Data or a UTF-8 string already encoded: two-byte length, then the bytes.</summary>
    public void WriteBinary(ReadOnlySpan<byte> bytes)
    {
        // [MQTT-1.5.6]: a longer field would be written with a wrapped length; nothing is advanced yet, so fail here.
        if (bytes.Length > ushort.MaxValue)
        {
            ThrowTooLong();
        }

        WriteTwoByteInteger((ushort)bytes.Length);
        WriteRaw(bytes);
    }

    public void WriteString(string value)
    {
        int length = Encoding.UTF8.GetBytes(value, _destination[(_position + 2)..]);
        WriteTwoByteInteger((ushort)length);
        _position += length;
    }

    [DoesNotReturn]
    private static void ThrowTooLong() => throw new ArgumentException("MQTT Binary Data and strings hold at most 65,535 bytes.", "bytes");

    /// <summary>The fixed header: first byte and remaining length.</summary>
    public void WriteFixedHeader(byte first, int remainingLength)
    {
        WriteByte(first);
        WriteVariableByteInteger(remainingLength);
    }
}
