using System.Buffers.Binary;

namespace Broker.Bench.Load;

/// <summary>
/// The first bytes of every payload: publisher id (4), sequence number (8), send timestamp in
/// <see cref="System.Diagnostics.Stopwatch"/> ticks (8), little-endian; the rest is padding up to <c>--payload</c>.
/// Publisher and subscribers live in one process, so the timestamps share a clock.
/// </summary>
internal static class PayloadFormat
{
    public const int HeaderSize = 20;
    private const int SequenceOffset = 4;
    private const int TimestampOffset = 12;

    public static void WritePublisher(Span<byte> payload, int publisherId) => BinaryPrimitives.WriteInt32LittleEndian(payload, publisherId);

    public static void WriteSequence(Span<byte> payload, long sequence, long timestamp)
    {
        BinaryPrimitives.WriteInt64LittleEndian(payload[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(payload[TimestampOffset..], timestamp);
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out int publisherId, out long sequence, out long timestamp)
    {
        if (payload.Length < HeaderSize)
        {
            publisherId = 0;
            sequence = 0;
            timestamp = 0;
            return false;
        }

        publisherId = BinaryPrimitives.ReadInt32LittleEndian(payload);
        sequence = BinaryPrimitives.ReadInt64LittleEndian(payload[SequenceOffset..]);
        timestamp = BinaryPrimitives.ReadInt64LittleEndian(payload[TimestampOffset..]);
        return true;
    }
}
