using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Broker.Core.Routing;

/// <summary>
/// Pooled <see cref="Message"/>s for client PUBLISH packets, one pool per broker. A message keeps its buffer: object
/// and buffer are rented and returned together, in power-of-two size classes from 64 B to 64 KiB. Larger messages are
/// unpooled (the copy dominates their cost anyway). Ownership rules are on <see cref="Message"/>.
/// </summary>
/// <remarks>
/// Each class is a <see cref="ConcurrentQueue{T}"/> (lock-free, and allocation-free once its ring segment has grown
/// to the working set, as Kestrel's block pool relies on) capped by a byte budget, so a burst does not pin memory
/// for good: past the cap a returned message is left to the garbage collector. The count is approximate (racy
/// increments around the cap only move it by a few messages).
/// </remarks>
internal sealed class MessagePool
{
    private const int MinimumShift = 6;
    private const int MaximumShift = 16;

    /// <summary>Bytes of buffers each size class keeps at most (plus a floor of <see cref="MinimumRetained"/> messages).</summary>
    private const int RetainedBytesPerClass = 4 * 1024 * 1024;

    private const int MinimumRetained = 64;
    private const int MaximumRetained = 8192;

    /// <summary>The byte written over a returned buffer when <see cref="PoisonReleased"/> is set.</summary>
    internal const byte PoisonByte = 0xDD;

    private readonly SizeClass[] _classes;
    private long _created;

    public MessagePool()
    {
        _classes = new SizeClass[MaximumShift - MinimumShift + 1];
        for (int i = 0; i < _classes.Length; i++)
        {
            int size = 1 << (MinimumShift + i);
            _classes[i] = new SizeClass(size, Math.Clamp(RetainedBytesPerClass / size, MinimumRetained, MaximumRetained));
        }
    }

    /// <summary>Largest message (topic + properties + payload) that is pooled.</summary>
    public const int MaximumPooledLength = 1 << MaximumShift;

    /// <summary>
    /// Overwrites every returned buffer with <see cref="PoisonByte"/>, so that a message read after its last release
    /// shows wrong bytes rather than another client's plausible ones. On in DEBUG builds; the tests turn it on.
    /// </summary>
#if DEBUG
    internal static bool PoisonReleased { get; set; } = true;
#else
    internal static bool PoisonReleased { get; set; }
#endif

    /// <summary>Messages created because their class was empty (for tests: a warmed-up steady state creates none).</summary>
    internal long Created => Interlocked.Read(ref _created);

    /// <summary>
    /// Messages waiting in the pool. Exact when nothing is renting or returning; with <see cref="Created"/> it tells the
    /// tests how many are still referenced (every one created, below the per-class caps, comes back once released).
    /// </summary>
    internal int Available
    {
        get
        {
            int available = 0;
            foreach (SizeClass sizeClass in _classes)
            {
                available += Volatile.Read(ref sizeClass.Count);
            }

            return available;
        }
    }

    /// <summary>
    /// A message with a buffer of at least <paramref name="length"/> bytes and one reference, the caller's: fill
    /// <see cref="Message.WritableBuffer"/>, then <see cref="Message.Initialize"/>. Null above
    /// <see cref="MaximumPooledLength"/>: build an unpooled message instead.
    /// </summary>
    public Message? Rent(int length)
    {
        if ((uint)length > MaximumPooledLength)
        {
            return null;
        }

        int index = Math.Max(0, BitOperations.Log2((uint)Math.Max(length, 1) - 1) + 1 - MinimumShift);
        SizeClass sizeClass = _classes[index];
        if (sizeClass.Items.TryDequeue(out Message? message))
        {
            Interlocked.Decrement(ref sizeClass.Count);
        }
        else
        {
            Interlocked.Increment(ref _created);
            message = new Message(this, GC.AllocateUninitializedArray<byte>(sizeClass.Size));
        }

        message.OnRent(length);
        return message;
    }

    /// <summary>Takes back a message whose last reference was released.</summary>
    internal void Return(Message message)
    {
        int index = BitOperations.Log2((uint)message.Capacity) - MinimumShift;
        SizeClass sizeClass = _classes[index];
        if (PoisonReleased)
        {
            message.Poison(PoisonByte);
        }

        if (Volatile.Read(ref sizeClass.Count) >= sizeClass.Capacity)
        {
            return;
        }

        Interlocked.Increment(ref sizeClass.Count);
        sizeClass.Items.Enqueue(message);
    }

    [DoesNotReturn]
    internal static void ThrowUseAfterRelease()
        => throw new InvalidOperationException("A pooled message was used after its last reference was released.");

    private sealed class SizeClass(int size, int capacity)
    {
        public readonly ConcurrentQueue<Message> Items = new();
        public readonly int Size = size;
        public readonly int Capacity = capacity;
        public int Count;
    }
}
