using System.Text;
using Broker.Core.Configuration;

namespace Broker.Core.Topics;

/// <summary>
/// The members of one shared subscription group on one filter (<c>$share/&lt;Name&gt;/&lt;filter&gt;</c>), and the state
/// its pick strategies keep. A message matching the filter goes to one member, chosen by <see cref="Pick"/>.
/// </summary>
/// <remarks>
/// Delivery, with a fallback when the picked member cannot take the message (offline, queue full):
/// <code>
/// SubscriberList&lt;TKey, TValue&gt; members = group.Members;   // one snapshot for the whole delivery
/// int first = group.Pick(members, strategy, hash);          // -1 when the group emptied meanwhile
/// for (int k = 0; first &gt;= 0 &amp;&amp; k &lt; members.Count; k++)
/// {
///     ref readonly Subscriber&lt;TKey, TValue&gt; member = ref members[(first + k) % members.Count];
///     if (TryDeliver(member)) { if (k &gt; 0) group.Stick(member.Key); break; }
/// }
/// </code>
/// </remarks>
public sealed class SharedGroup<TKey, TValue>
    where TKey : class
{
    private readonly byte[] _name;
    private object? _members;
    private int _roundRobin = -1;
    private TKey? _sticky;
    private int _stickyHint = -1;

    internal SharedGroup(ReadOnlySpan<byte> name)
    {
        _name = name.ToArray();
        Name = Encoding.UTF8.GetString(name);
    }

    /// <summary>The share name, for logs and the management API.</summary>
    public string Name { get; }

    public ReadOnlySpan<byte> NameUtf8 => _name;

    /// <summary>An immutable snapshot of the members. Read it once per delivery and pass it to <see cref="Pick"/>.</summary>
    public SubscriberList<TKey, TValue> Members => new(Volatile.Read(ref _members));

    /// <summary>
    /// The index in <paramref name="members"/> to try first, or -1 when it is empty. <paramref name="hash"/> is used
    /// only by <see cref="SharedSubscriptionStrategy.HashClientId"/> and <see cref="SharedSubscriptionStrategy.HashTopic"/>,
    /// where the caller computes it from the publisher's client id or the topic. Thread-safe and allocation-free.
    /// </summary>
    public int Pick(SubscriberList<TKey, TValue> members, SharedSubscriptionStrategy strategy, int hash)
    {
        int count = members.Count;
        if (count == 0)
        {
            return -1;
        }

        return strategy switch
        {
            SharedSubscriptionStrategy.RoundRobin => (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)count),
            SharedSubscriptionStrategy.Sticky => PickSticky(members, count),
            SharedSubscriptionStrategy.HashClientId or SharedSubscriptionStrategy.HashTopic => (int)((uint)hash % (uint)count),
            _ => Random.Shared.Next(count),
        };
    }

    /// <summary>
    /// For <see cref="SharedSubscriptionStrategy.Sticky"/>: makes <paramref name="key"/> the member later picks return
    /// while it stays in the group. Call it when a member other than the picked one took the message.
    /// </summary>
    public void Stick(TKey key)
    {
        Volatile.Write(ref _stickyHint, -1);
        Volatile.Write(ref _sticky, key);
    }

    internal bool IsEmpty => _members is null;

    /// <summary>Adds or replaces a member under the trie's writer lock; true if it is new.</summary>
    internal bool Set(TKey key, TValue value)
    {
        SubscriberList<TKey, TValue> members = new(_members);
        int index = members.IndexOf(key);
        Volatile.Write(ref _members, (index < 0 ? members.Add(key, value) : members.Replace(index, value)).Items);
        return index < 0;
    }

    /// <summary>Removes a member under the trie's writer lock; false if it was not one.</summary>
    internal bool Remove(TKey key)
    {
        SubscriberList<TKey, TValue> members = new(_members);
        int index = members.IndexOf(key);
        if (index < 0)
        {
            return false;
        }

        Volatile.Write(ref _members, members.RemoveAt(index).Items);

        // Do not keep a departed session reachable through the sticky slot.
        if (ReferenceEquals(Volatile.Read(ref _sticky), key))
        {
            Volatile.Write(ref _sticky, null);
        }

        return true;
    }

    private int PickSticky(SubscriberList<TKey, TValue> members, int count)
    {
        // The key decides; the index is only a hint, checked against the key, so the two fields need not change together.
        TKey? sticky = Volatile.Read(ref _sticky);
        if (sticky is not null)
        {
            int hint = Volatile.Read(ref _stickyHint);
            if ((uint)hint < (uint)count && ReferenceEquals(members[hint].Key, sticky))
            {
                return hint;
            }

            for (int i = 0; i < count; i++)
            {
                if (ReferenceEquals(members[i].Key, sticky))
                {
                    Volatile.Write(ref _stickyHint, i);
                    return i;
                }
            }
        }

        int picked = Random.Shared.Next(count);
        Volatile.Write(ref _stickyHint, picked);
        Volatile.Write(ref _sticky, members[picked].Key);
        return picked;
    }
}
