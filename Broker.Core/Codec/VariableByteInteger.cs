using System.Runtime.CompilerServices;
using Broker.Core.Protocol;

namespace Broker.Core.Codec;

/// <summary>Variable Byte Integer [MQTT-1.5.5]: 7 bits per byte, at most four bytes, at most 268,435,455.</summary>
public static class VariableByteInteger
{
    public const int MaxValue = 268_435_455;

    /// <summary>Bytes needed to encode <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GetSize(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;

    /// <summary>Writes <paramref name="value"/> and returns the bytes written.</summary>
    public static int Write(Span<byte> destination, int value)
    {
        if ((uint)value > MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A variable byte integer holds at most 268,435,455.");
        }

        int i = 0;
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            if (value > 0)
            {
                b |= 0x80;
            }

            destination[i++] = b;
        }
        while (value > 0);
        return i;
    }

    /// <summary>
    /// Reads from a span: returns false when the span ends before the last byte (need more data).
    /// Throws for a fifth byte or a non-minimal encoding [MQTT-1.5.5-1].
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out int value, out int bytesRead)
    {
        int result = 0;
        for (int i = 0; i < 4; i++)
        {
            if ((uint)i >= (uint)source.Length)
            {
                value = 0;
                bytesRead = 0;
                return false;
            }

            byte b = source[i];
            result |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    ProtocolThrow.Malformed("Variable byte integer is not minimally encoded.");
                }

                value = result;
                bytesRead = i + 1;
                return true;
            }
        }

        value = 0;
        bytesRead = 0;
        ProtocolThrow.Malformed("Variable byte integer is longer than four bytes.");
        return false;
    }
}
