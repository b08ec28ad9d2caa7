using System.Buffers;

namespace Broker.Tests.TestSupport;

/// <summary>
/// Multi-segment <see cref="ReadOnlySequence{T}"/>s, the way a <c>PipeReader</c> hands over data that arrived in
/// several reads. Every segment gets its own array, so a reader cannot get away with indexing past a segment end.
/// </summary>
public static class Sequences
{
    /// <summary>Splits <paramref name="bytes"/> before each offset in <paramref name="at"/> (ascending; repeats and 0 give empty segments).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, params int[] at)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(at);
        Segment? first = null;
        Segment? last = null;
        int start = 0;
        foreach (int offset in at)
        {
            if (offset < start || offset > bytes.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(at), offset, "Split offsets must be ascending and within the array.");
            }

            Append(ref first, ref last, bytes.AsSpan(start, offset - start));
            start = offset;
        }

        Append(ref first, ref last, bytes.AsSpan(start));
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>One segment per <paramref name="size"/> bytes (1 = every byte on its own).</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, int size = 1)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var at = new List<int>();
        for (int i = size; i < bytes.Length; i += size)
        {
            at.Add(i);
        }

        return Split(bytes, [.. at]);
    }

    private static void Append(ref Segment? first, ref Segment? last, ReadOnlySpan<byte> bytes)
    {
        var segment = new Segment(bytes.ToArray());
        if (last is null)
        {
            first = segment;
        }
        else
        {
            last.SetNext(segment);
        }

        last = segment;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes) => Memory = bytes;

        public void SetNext(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }
}
