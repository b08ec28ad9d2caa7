using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>
/// Reads the fields of one framed packet. The frame is complete, so a field that runs past its end is a
/// malformed packet, not "need more data". Strings come back as validated slices; nothing is copied
/// unless a caller asks for a <see cref="string"/> or an array.
/// </summary>
public ref struct MqttReader(ReadOnlySequence<byte> frame)
{
    private SequenceReader<byte> _reader = new(frame);

    public readonly long Remaining => _reader.Remaining;

    public readonly bool End => _reader.End;

    public readonly SequencePosition Position => _reader.Position;

    public byte ReadByte()
    {
        if (!_reader.TryRead(out byte value))
        {
            ProtocolThrow.Malformed("Packet ends inside a one-byte field.");
        }

        return value;
    }

    public ushort ReadTwoByteInteger()
    {
        if (!_reader.TryReadBigEndian(out short value))
        {
            ProtocolThrow.Malformed("Packet ends inside a two-byte integer.");
        }

        return (ushort)value;
    }

    public uint ReadFourByteInteger()
    {
        if (!_reader.TryReadBigEndian(out int value))
        {
            ProtocolThrow.Malformed("Packet ends inside a four-byte integer.");
        }

        return (uint)value;
    }

    public int ReadVariableByteInteger()
    {
        ReadOnlySpan<byte> span = _reader.UnreadSpan;
        if (span.Length >= 4 || (span.Length > 0 && _reader.Remaining == span.Length))
        {
            if (VariableByteInteger.TryRead(span, out int value, out int read))
            {
                _reader.Advance(read);
                return value;
            }

            return ProtocolThrow.Malformed<int>("Packet ends inside a variable byte integer.");
        }

        return ReadVariableByteIntegerSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int ReadVariableByteIntegerSlow()
    {
        Span<byte> bytes = stackalloc byte[4];
        int available = (int)Math.Min(4, _reader.Remaining);
        _reader.TryCopyTo(bytes[..available]);
        if (!VariableByteInteger.TryRead(bytes[..available], out int value, out int read))
        {
            return ProtocolThrow.Malformed<int>("Packet ends inside a variable byte integer.");
        }

        _reader.Advance(read);
        return value;
    }

    /// <summary>Binary Data [MQTT-1.5.6]: a two-byte length and that many bytes, as a slice of the frame.</summary>
    public ReadOnlySequence<byte> ReadBinary()
    {
        int length = ReadTwoByteInteger();
        return ReadSlice(length);
    }

    /// <summary>UTF-8 Encoded String [MQTT-1.5.4]: validated (well-formed, no U+0000) and returned as a slice.</summary>
    public ReadOnlySequence<byte> ReadUtf8String()
    {
        ReadOnlySequence<byte> slice = ReadBinary();
        Utf8Rules.Validate(slice);
        return slice;
    }

    /// <summary>A UTF-8 string materialised; for fields that live beyond the frame (client id, user name, filters).</summary>
    public string ReadString() => Utf8Rules.GetString(ReadUtf8String());

    public byte[] ReadBinaryArray() => ReadBinary().ToArray();

    /// <summary>The next <paramref name="length"/> bytes as a slice.</summary>
    public ReadOnlySequence<byte> ReadSlice(long length)
    {
        if (_reader.Remaining < length)
        {
            ProtocolThrow.Malformed("Packet ends inside a length-prefixed field.");
        }

        ReadOnlySequence<byte> slice = _reader.UnreadSequence.Slice(0, length);
        _reader.Advance(length);
        return slice;
    }

    /// <summary>Everything left in the frame (the PUBLISH payload).</summary>
    public ReadOnlySequence<byte> ReadToEnd()
    {
        ReadOnlySequence<byte> rest = _reader.UnreadSequence;
        _reader.AdvanceToEnd();
        return rest;
    }

    public readonly void EnsureEnd(string packetName)
    {
        if (!_reader.End)
        {
            ProtocolThrow.Malformed($"{packetName} has bytes after its last field.");
        }
    }
}

/// <summary>The UTF-8 rules of MQTT strings [MQTT-1.5.4-1], [MQTT-1.5.4-2].</summary>
public static class Utf8Rules
{
    /// <summary>Throws a malformed-packet error unless the bytes are well-formed UTF-8 without U+0000.</summary>
    public static void Validate(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            Validate(bytes.FirstSpan);
            return;
        }

        ValidateMultiSegment(bytes);
    }

    public static void Validate(ReadOnlySpan<byte> bytes)
    {
        if (!IsValid(bytes))
        {
            ProtocolThrow.Malformed("String is not well-formed UTF-8 or contains U+0000.");
        }
    }

    public static bool IsValid(ReadOnlySpan<byte> bytes) => bytes.IndexOf((byte)0) < 0 && Utf8.IsValid(bytes);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ValidateMultiSegment(in ReadOnlySequence<byte> bytes)
    {
        int length = (int)bytes.Length;
        byte[]? rented = null;
        Span<byte> copy = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            bytes.CopyTo(copy);
            Validate(copy[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static string GetString(in ReadOnlySequence<byte> bytes)
        => bytes.IsSingleSegment ? Encoding.UTF8.GetString(bytes.FirstSpan) : Encoding.UTF8.GetString(bytes);

    /// <summary>Encodes and checks the length limit of a string field (65,535 bytes).</summary>
    public static int GetByteCount(string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        if (count > ushort.MaxValue)
        {
            throw new ArgumentException("An MQTT string holds at most 65,535 bytes of UTF-8.", nameof(value));
        }

        return count;
    }

    internal static ushort ReadLength(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt16BigEndian(source);
}
