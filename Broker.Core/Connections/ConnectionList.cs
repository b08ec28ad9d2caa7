using System.Buffers;
using Broker.Shared;

namespace Broker.Core.Connections;

/// <summary>
/// The connections a broker serves: an <see cref="IntrusiveList{T}"/> through <see cref="MqttConnection"/> itself, under one lock.
/// A <c>ConcurrentDictionary</c> would cost a 40-byte node per connection, a garbage copy of every node each time its
/// table grows, and the connection's identity hash. Added once per connection and removed once; everything that walks
/// it (housekeeping, snapshots, shutdown) works on a copy (<see cref="Rent"/>), so no lock is held while it acts.
/// </summary>
internal sealed class ConnectionList
{
    private readonly Lock _lock = new();
    private readonly IntrusiveList<MqttConnection> _list = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add(MqttConnection connection)
    {
        lock (_lock)
        {
            _list.Add(connection);
            _count = _list.Count;
        }
    }

    /// <summary>Removes a listed connection; returns how many are left, or -1 when it was not listed.</summary>
    public int Remove(MqttConnection connection)
    {
        lock (_lock)
        {
            if (!_list.Remove(connection))
            {
                return -1;
            }

            return _count = _list.Count;
        }
    }

    /// <summary>
    /// Copies the connections into an array from <see cref="ArrayPool{T}.Shared"/>: the first <paramref name="count"/>
    /// entries. Give it back with <see cref="Return"/>.
    /// </summary>
    public MqttConnection[] Rent(out int count)
    {
        lock (_lock)
        {
            MqttConnection[] copy = ArrayPool<MqttConnection>.Shared.Rent(Math.Max(_list.Count, 1));
            count = 0;
            for (MqttConnection? connection = _list.First; connection is not null; connection = connection.NextInList)
            {
                copy[count++] = connection;
            }

            return copy;
        }
    }

    public static void Return(MqttConnection[] copy) => ArrayPool<MqttConnection>.Shared.Return(copy, clearArray: true);
}
