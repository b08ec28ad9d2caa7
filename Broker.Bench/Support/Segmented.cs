using System.Buffers;

namespace Broker.Bench.Support;

/// <summary>A <see cref="ReadOnlySequence{T}"/> over several arrays, as a <c>PipeReader</c> hands over data that arrived in several reads.</summary>
internal static class Segmented
{
    public static ReadOnlySequence<byte> Split(byte[] bytes, int segmentSize)
    {
        Segment? first = null;
        Segment? last = null;
        for (int start = 0; start < bytes.Length; start += segmentSize)
        {
            var segment = new Segment(bytes.AsSpan(start, Math.Min(segmentSize, bytes.Length - start)).ToArray());
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

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
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
