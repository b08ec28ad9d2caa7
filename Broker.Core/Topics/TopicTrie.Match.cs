using System.Text;

namespace Broker.Core.Topics;

public sealed partial class TopicTrie<TKey, TValue>
{
    private const int InitialFrames = 32;

    // One match stack per thread, reused: node references cannot be stackalloc'd, and renting per call costs more.
    [ThreadStatic]
    private static Frame[]? t_frames;

    /// <summary>
    /// Reports every subscription whose filter matches <paramref name="topic"/> (a valid topic name) to
    /// <paramref name="visitor"/>: each matching filter's normal subscribers, then its shared groups. A filter is reported
    /// once however the topic reaches it. Takes no lock and allocates nothing once the thread's stack is warm.
    /// </summary>
    public void Match<TVisitor>(ReadOnlySpan<byte> topic, ref TVisitor visitor)
        where TVisitor : struct, ITopicMatchVisitor<TKey, TValue>
    {
        // Taken rather than borrowed: a visitor that matches again on this thread gets a stack of its own.
        Frame[] frames = t_frames ?? new Frame[InitialFrames];
        t_frames = null;

        bool dollarTopic = !topic.IsEmpty && topic[0] == (byte)'$';
        int count = 0;
        int highWater = 1;
        frames[count++] = new Frame(_root, 0);
        while (count > 0)
        {
            Frame frame = frames[--count];
            Node node = frame.Node;

            // [MQTT-4.7.2-1] a filter starting with '+' or '#' does not match a topic starting with '$'. Only the root
            // frame has offset 0, so this is "at the first level of a $ topic".
            bool wildcards = frame.Offset != 0 || !dollarTopic;

            // [MQTT-4.7.1-2] '#' matches the parent level and any number of child levels: "sport/#" matches "sport" too.
            if (wildcards && node.MultiLevelWildcard is { } multiLevel)
            {
                Report(multiLevel, ref visitor);
            }

            if (frame.Offset > topic.Length)
            {
                Report(node, ref visitor);
                continue;
            }

            ReadOnlySpan<byte> level = TopicLevels.Next(topic, frame.Offset, out int next);
            if (count + 2 > frames.Length)
            {
                Array.Resize(ref frames, frames.Length * 2);
            }

            // [MQTT-4.7.1-3] '+' matches exactly one level, an empty one included.
            if (wildcards && node.SingleLevelWildcard is { } singleLevel)
            {
                frames[count++] = new Frame(singleLevel, next);
            }

            if (node.FindChild(level) is { } child)
            {
                frames[count++] = new Frame(child, next);
            }

            highWater = Math.Max(highWater, count);
        }

        // Do not keep pruned nodes reachable from an idle thread.
        Array.Clear(frames, 0, highWater);
        t_frames = frames;
    }

    /// <summary>
    /// Every subscription, for the management API: filter and share group as strings, key and value. Lock-free like
    /// <see cref="Match{TVisitor}"/>, so it may or may not include changes made while it runs; allocates freely.
    /// </summary>
    public IEnumerable<TopicTrieEntry<TKey, TValue>> EnumerateEntries()
    {
        Stack<(Node Node, string Filter)> pending = new();
        PushChildren(pending, _root, filter: null);
        while (pending.TryPop(out (Node Node, string Filter) item))
        {
            SubscriberList<TKey, TValue> subscribers = item.Node.Subscribers;
            for (int i = 0; i < subscribers.Count; i++)
            {
                Subscriber<TKey, TValue> subscriber = subscribers[i];
                yield return new(item.Filter, null, subscriber.Key, subscriber.Value);
            }

            foreach (SharedGroup<TKey, TValue> group in item.Node.Groups ?? [])
            {
                SubscriberList<TKey, TValue> members = group.Members;
                for (int i = 0; i < members.Count; i++)
                {
                    Subscriber<TKey, TValue> member = members[i];
                    yield return new(item.Filter, group.Name, member.Key, member.Value);
                }
            }

            PushChildren(pending, item.Node, item.Filter);
        }
    }

    /// <summary>Nodes reachable from the root, dead ones included (tests check pruning with it).</summary>
    internal int CountNodes()
    {
        Stack<(Node Node, string Filter)> pending = new();
        int nodes = 1;
        PushChildren(pending, _root, filter: null);
        while (pending.TryPop(out (Node Node, string Filter) item))
        {
            nodes++;
            PushChildren(pending, item.Node, item.Filter);
        }

        return nodes;
    }

    private static void Report<TVisitor>(Node node, ref TVisitor visitor)
        where TVisitor : struct, ITopicMatchVisitor<TKey, TValue>
    {
        foreach (ref readonly Subscriber<TKey, TValue> subscriber in node.Subscribers)
        {
            visitor.OnSubscriber(subscriber.Key, subscriber.Value);
        }

        SharedGroup<TKey, TValue>[]? groups = node.Groups;
        if (groups is not null)
        {
            foreach (SharedGroup<TKey, TValue> group in groups)
            {
                visitor.OnSharedGroup(group);
            }
        }
    }

    private static void PushChildren(Stack<(Node Node, string Filter)> pending, Node node, string? filter)
    {
        string prefix = filter is null ? string.Empty : filter + "/";
        foreach (Node? child in node.Children ?? [])
        {
            if (child is not null)
            {
                pending.Push((child, prefix + Encoding.UTF8.GetString(child.Level)));
            }
        }

        if (node.SingleLevelWildcard is { } singleLevel)
        {
            pending.Push((singleLevel, prefix + "+"));
        }

        if (node.MultiLevelWildcard is { } multiLevel)
        {
            pending.Push((multiLevel, prefix + "#"));
        }
    }

    /// <summary>A node still to visit and where, in the topic, the level under it starts (past the end: none left).</summary>
    private readonly struct Frame(Node node, int offset)
    {
        public readonly Node Node = node;
        public readonly int Offset = offset;
    }
}
