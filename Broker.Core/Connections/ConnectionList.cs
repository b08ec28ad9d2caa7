using System.Buffers;

namespace Broker.Core.Connections;

/// <summary>
/// The connections a broker serves: a doubly linked list through <see cref="MqttConnection"/> itself, under one lock.
/// A <c>ConcurrentDictionary</c> would cost a 40-byte node per connection, a garbage copy of every node each time its
/// table grows, and the connection's identity hash. Added once per connection and removed once; everything that walks
/// it (housekeeping, snapshots, shutdown) works on a copy (<see cref="Rent"/>), so no lock is held while it acts.
/// </summary>
internal sealed class ConnectionList
{
    private readonly Lock _lock = new();
    private MqttConnection? _first;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add(MqttConnection connection)
    {
        lock (_lock)
        {
            connection.NextInList = _first;
            if (_first is not null)
            {
                _first.PreviousInList = connection;
            }

            _first = connection;
            _count++;
        }
    }

    /// <summary>Removes a listed connection; returns how many are left, or -1 when it was not listed.</summary>
    public int Remove(MqttConnection connection)
    {
        lock (_lock)
        {
            if (connection.PreviousInList is null && !ReferenceEquals(_first, connection))
            {
                return -1;
            }

            if (connection.PreviousInList is null)
            {
                _first = connection.NextInList;
            }
            else
            {
                connection.PreviousInList.NextInList = connection.NextInList;
            }

            if (connection.NextInList is not null)
            {
                connection.NextInList.PreviousInList = connection.PreviousInList;
            }

            connection.PreviousInList = null;
            connection.NextInList = null;
            return --_count;
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
            MqttConnection[] copy = ArrayPool<MqttConnection>.Shared.Rent(Math.Max(_count, 1));
            count = 0;
            for (MqttConnection? connection = _first; connection is not null; connection = connection.NextInList)
            {
                copy[count++] = connection;
            }

            return copy;
        }
    }

    public static void Return(MqttConnection[] copy) => ArrayPool<MqttConnection>.Shared.Return(copy, clearArray: true);
}
