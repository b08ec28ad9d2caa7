using System.Collections.Concurrent;
using System.Text;
using Broker.Core.Topics;

namespace Broker.Core.Security;

/// <summary>
/// The built-in ACL (EMQX 4.4's <c>emqx_acl_mnesia</c>). A check walks the client id's rules, then the username's,
/// then the <c>$all</c> rules, each group newest first, and the first rule whose action and topic filter match decides;
/// no match is no opinion (the caller falls back to <c>acl_nomatch</c>). Adding a rule with the same target, action
/// and topic replaces the old one (<c>merge_rule</c>).
/// Invariants: each group is an immutable array sorted newest first, replaced whole under <see cref="_sync"/>; readers
/// never lock. <see cref="Generation"/> rises on every change so per-client caches can discard older answers.
/// </summary>
public sealed class AclDatabase
{
    private readonly ConcurrentDictionary<string, AclRule[]> _byClientId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AclRule[]> _byUsername = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private readonly TimeProvider _time;
    private AclRule[] _all = [];
    private int _count;
    private int _generation;
    private long _sequence;

    internal AclDatabase(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>Raised after every change of the rules, on the thread that made it (persistence hooks here).</summary>
    public event Action? Changed;

    /// <summary>Rules stored (a <c>pubsub</c> rule counts as two).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Rises on every change of the rules (and on <see cref="Invalidate"/>).</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Adds or replaces a rule; returns the rule stored.</summary>
    public AclRule Add(AclTarget target, string? who, string topic, AclAction action, AclAccess access)
    {
        AclRule rule = Insert(target, who, topic, action, access, _time.GetUtcNow().ToUnixTimeMilliseconds());
        Changed?.Invoke();
        return rule;
    }

    /// <summary>Puts back a rule saved from <see cref="ListAll"/> (restore oldest first); does not raise <see cref="Changed"/>.</summary>
    public void Restore(AclRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Insert(rule.Target, rule.Who, rule.Topic, rule.Action, rule.Access, rule.CreatedAt);
    }

    private AclRule Insert(AclTarget target, string? who, string topic, AclAction action, AclAccess access, long createdAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        who = NormalizeWho(target, who);
        lock (_sync)
        {
            var rule = new AclRule(target, who, topic, action, access, createdAt) { Sequence = ++_sequence };
            AclRule[] group = GetGroup(target, who);
            int existing = IndexOf(group, topic, action);
            AclRule[] updated;
            if (existing >= 0)
            {
                updated = new AclRule[group.Length];
                updated[0] = rule;
                Array.Copy(group, 0, updated, 1, existing);
                Array.Copy(group, existing + 1, updated, existing + 1, group.Length - existing - 1);
            }
            else
            {
                updated = new AclRule[group.Length + 1];
                updated[0] = rule;
                group.CopyTo(updated, 1);
                _count++;
            }

            SetGroup(target, who, updated);
            Interlocked.Increment(ref _generation);
            return rule;
        }
    }

    /// <summary>Removes the rules of <paramref name="target"/>/<paramref name="who"/> for <paramref name="topic"/> (both actions, or one); returns how many.</summary>
    public int Remove(AclTarget target, string? who, string topic, AclAction? action = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        who = NormalizeWho(target, who);
        int removed;
        lock (_sync)
        {
            AclRule[] group = GetGroup(target, who);
            var kept = new List<AclRule>(group.Length);
            foreach (AclRule rule in group)
            {
                if (!(string.Equals(rule.Topic, topic, StringComparison.Ordinal) && (action is null || rule.Action == action)))
                {
                    kept.Add(rule);
                }
            }

            removed = group.Length - kept.Count;
            if (removed > 0)
            {
                SetGroup(target, who, [.. kept]);
                _count -= removed;
                Interlocked.Increment(ref _generation);
            }
        }

        if (removed > 0)
        {
            Changed?.Invoke();
        }

        return removed;
    }

    /// <summary>Removes every rule.</summary>
    public void Clear()
    {
        lock (_sync)
        {
            _byClientId.Clear();
            _byUsername.Clear();
            _all = [];
            _count = 0;
            Interlocked.Increment(ref _generation);
        }

        Changed?.Invoke();
    }

    /// <summary>Makes every client's cached ACL answers stale (after a change of <c>acl_nomatch</c> or of the modules).</summary>
    public void Invalidate() => Interlocked.Increment(ref _generation);

    /// <summary>The rules of one target (newest first); for <see cref="AclTarget.All"/> <paramref name="who"/> is ignored.</summary>
    public IReadOnlyList<AclRule> List(AclTarget target, string? who) => GetGroup(target, NormalizeWho(target, who));

    /// <summary>Every rule of one kind of target: client id groups, username groups or <c>$all</c>; newest first.</summary>
    public IReadOnlyList<AclRule> List(AclTarget target)
    {
        if (target == AclTarget.All)
        {
            return Volatile.Read(ref _all);
        }

        var list = new List<AclRule>();
        foreach (KeyValuePair<string, AclRule[]> pair in target == AclTarget.ClientId ? _byClientId : _byUsername)
        {
            list.AddRange(pair.Value);
        }

        list.Sort(static (a, b) => b.Sequence.CompareTo(a.Sequence));
        return list;
    }

    /// <summary>Every rule: client id rules, username rules, then <c>$all</c>.</summary>
    public IReadOnlyList<AclRule> ListAll()
    {
        var list = new List<AclRule>(Count);
        list.AddRange(List(AclTarget.ClientId));
        list.AddRange(List(AclTarget.Username));
        list.AddRange(List(AclTarget.All));
        return list;
    }

    /// <summary>The first matching rule's verdict for a topic name (publish) or filter (subscribe), or null for no match.</summary>
    public AclAccess? Check(string clientId, string? userName, AclAction action, ReadOnlySpan<byte> topic)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (Volatile.Read(ref _count) == 0)
        {
            return null;
        }

        if (!_byClientId.IsEmpty && _byClientId.TryGetValue(clientId, out AclRule[]? rules)
            && FirstMatch(rules, clientId, userName, action, topic) is { } byClient)
        {
            return byClient;
        }

        if (userName is not null && !_byUsername.IsEmpty && _byUsername.TryGetValue(userName, out rules)
            && FirstMatch(rules, clientId, userName, action, topic) is { } byUser)
        {
            return byUser;
        }

        return FirstMatch(Volatile.Read(ref _all), clientId, userName, action, topic);
    }

    private static AclAccess? FirstMatch(AclRule[] rules, string clientId, string? userName, AclAction action, ReadOnlySpan<byte> topic)
    {
        foreach (AclRule rule in rules)
        {
            if (rule.Action == action && Matches(rule, clientId, userName, topic))
            {
                return rule.Access;
            }
        }

        return null;
    }

    private static bool Matches(AclRule rule, string clientId, string? userName, ReadOnlySpan<byte> topic)
    {
        if (!rule.HasPlaceholders)
        {
            return TopicValidator.Matches(rule.TopicBytes, topic);
        }

        // emqx_acl_mnesia feeds rules through emqx_access_rule:feed_var: %c and %u become the client's values. A rule
        // with %u never matches a client without a username (EMQX keeps the literal "%u", which no topic contains).
        string filter = rule.Topic.Replace("%c", clientId, StringComparison.Ordinal);
        if (filter.Contains("%u", StringComparison.Ordinal))
        {
            if (userName is null)
            {
                return false;
            }

            filter = filter.Replace("%u", userName, StringComparison.Ordinal);
        }

        return TopicValidator.Matches(Encoding.UTF8.GetBytes(filter), topic);
    }

    private static string NormalizeWho(AclTarget target, string? who)
    {
        if (target == AclTarget.All)
        {
            return AclRule.AllWho;
        }

        ArgumentException.ThrowIfNullOrEmpty(who);
        return who;
    }

    private static int IndexOf(AclRule[] group, string topic, AclAction action)
    {
        for (int i = 0; i < group.Length; i++)
        {
            if (group[i].Action == action && string.Equals(group[i].Topic, topic, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private AclRule[] GetGroup(AclTarget target, string who) => target switch
    {
        AclTarget.All => Volatile.Read(ref _all),
        AclTarget.ClientId => _byClientId.TryGetValue(who, out AclRule[]? rules) ? rules : [],
        _ => _byUsername.TryGetValue(who, out AclRule[]? rules) ? rules : [],
    };

    private void SetGroup(AclTarget target, string who, AclRule[] rules)
    {
        switch (target)
        {
            case AclTarget.All:
                Volatile.Write(ref _all, rules);
                break;
            case AclTarget.ClientId when rules.Length == 0:
                _byClientId.TryRemove(who, out _);
                break;
            case AclTarget.ClientId:
                _byClientId[who] = rules;
                break;
            case AclTarget.Username when rules.Length == 0:
                _byUsername.TryRemove(who, out _);
                break;
            default:
                _byUsername[who] = rules;
                break;
        }
    }
}
