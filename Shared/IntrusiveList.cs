// Shared source, compiled into Broker.Core and Broker.Transport (each gets its own internal copy of the type).
namespace Broker.Shared;

/// <summary>An item that can be in one <see cref="IntrusiveList{T}"/>: the links live in the item itself.</summary>
internal interface IIntrusiveListNode<T>
    where T : class
{
    public T? PreviousInList { get; set; }

    public T? NextInList { get; set; }
}

/// <summary>
/// A doubly linked list threaded through its items, for the connections a broker or a listener serves: no node
/// object per item (a <c>ConcurrentDictionary</c> costs 40-48 bytes per entry) and nothing to copy when it grows
/// (a dictionary re-creates every node each time its table grows). Not thread-safe: the owner locks.
/// </summary>
internal sealed class IntrusiveList<T>
    where T : class, IIntrusiveListNode<T>
{
    public T? First { get; private set; }

    public int Count { get; private set; }

    public void Add(T item)
    {
        item.PreviousInList = null;
        item.NextInList = First;
        if (First is not null)
        {
            First.PreviousInList = item;
        }

        First = item;
        Count++;
    }

    /// <summary>Unlinks <paramref name="item"/>; false when it was not in the list (never added, or removed already).</summary>
    public bool Remove(T item)
    {
        if (item.PreviousInList is null)
        {
            if (!ReferenceEquals(First, item))
            {
                return false;
            }

            First = item.NextInList;
        }
        else
        {
            item.PreviousInList.NextInList = item.NextInList;
        }

        if (item.NextInList is not null)
        {
            item.NextInList.PreviousInList = item.PreviousInList;
        }

        item.PreviousInList = null;
        item.NextInList = null;
        Count--;
        return true;
    }
}
