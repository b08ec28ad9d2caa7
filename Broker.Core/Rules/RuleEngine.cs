using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Broker.Core.Topics;

namespace Broker.Core.Rules;

/// <summary>
/// EMQX 4.4's rule engine: rules in its SQL dialect over published messages and client events, with actions
/// (<c>inspect</c>, <c>do_nothing</c>, <c>republish</c>, <c>data_to_webserver</c>) and <c>web_hook</c> resources.
/// </summary>
/// <remarks>
/// <para>
/// Cost on the publish path: with no message rule, one volatile read. With message rules, one walk of a topic trie of
/// the FROM filters (lock-free, allocation-free); only a rule that matches builds the event's columns and runs its
/// SQL, on the publishing thread, since the payload belongs to a pooled message. Events cost one volatile read of a
/// bit mask when no rule listens to them.
/// </para>
/// <para>
/// Actions never run on the publish path: a matched rule queues its selected fields on a bounded channel read by one
/// worker; a full queue fails the actions (<c>actions.failure</c>) rather than blocking the publisher. Web hooks run
/// concurrently (at most <see cref="MaxConcurrentWebHooks"/>), each bounded by its resource's timeout.
/// </para>
/// <para>
/// Definitions change under one lock and are published as immutable snapshots (the trie and per-event arrays are
/// rebuilt whole), then <see cref="Changed"/> is raised for persistence. A republished message is routed as any
/// other but does not run the rules again, so a rule cannot feed itself.
/// </para>
/// </remarks>
public sealed partial class RuleEngine : IAsyncDisposable
{
    /// <summary>Web hook requests in flight at once.</summary>
    public const int MaxConcurrentWebHooks = 16;

    private static readonly TimeSpan s_samplePeriod = TimeSpan.FromSeconds(5);

    [ThreadStatic]
    private static List<Rule>? t_matched;

    private readonly MqttBroker _broker;
    private readonly Lock _sync = new();
    private readonly Dictionary<string, Rule> _rules = new(StringComparer.Ordinal);
    private readonly List<string> _ruleOrder = [];
    private readonly Dictionary<string, RuleResource> _resources = new(StringComparer.Ordinal);
    private readonly List<string> _resourceOrder = [];
    private readonly Channel<ActionJob> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _webHookSlots = new(MaxConcurrentWebHooks, MaxConcurrentWebHooks);
    private TopicTrie<Rule, byte>? _messageTrie;
    private Rule[][] _byEvent = EmptyByEvent();
    private int _eventMask;
    private Task? _worker;
    private ITimer? _sampler;
    private HttpClient? _http;
    private long _actionSequence = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
    private int _queueFullLogged;

    internal RuleEngine(MqttBroker broker, int queueCapacity)
    {
        _broker = broker;
        QueueCapacity = queueCapacity;
        _queue = Channel.CreateBounded<ActionJob>(new BoundedChannelOptions(queueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Raised after a rule or resource is created, updated or deleted (not for metrics), outside the lock.</summary>
    public event Action? Changed;

    /// <summary>Matched rules whose actions may wait at once; more fail their actions.</summary>
    public int QueueCapacity { get; }

    /// <summary>Every rule, in creation order.</summary>
    public IReadOnlyList<Rule> Rules
    {
        get
        {
            lock (_sync)
            {
                var list = new List<Rule>(_ruleOrder.Count);
                foreach (string id in _ruleOrder)
                {
                    list.Add(_rules[id]);
                }

                return list;
            }
        }
    }

    /// <summary>Every resource, in creation order.</summary>
    public IReadOnlyList<RuleResource> Resources
    {
        get
        {
            lock (_sync)
            {
                var list = new List<RuleResource>(_resourceOrder.Count);
                foreach (string id in _resourceOrder)
                {
                    list.Add(_resources[id]);
                }

                return list;
            }
        }
    }

    /// <summary>
    /// Bit <c>1 &lt;&lt; kind</c> set for each <see cref="RuleEventKind"/> some enabled rule listens to
    /// (<see cref="RuleEventKind.MessagePublish"/> for topic filters): zero, and the only cost, without rules.
    /// </summary>
    internal int ActiveMask => Volatile.Read(ref _eventMask);

    /// <summary>Whether some enabled rule listens to <paramref name="kind"/>.</summary>
    internal bool Has(RuleEventKind kind) => (Volatile.Read(ref _eventMask) & (1 << (int)kind)) != 0;

    public Rule? FindRule(string id)
    {
        lock (_sync)
        {
            return _rules.GetValueOrDefault(id);
        }
    }

    public RuleResource? FindResource(string id)
    {
        lock (_sync)
        {
            return _resources.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// Creates a rule. <paramref name="actions"/> are (name, parameters object) pairs. Throws
    /// <see cref="RuleSqlException"/> for bad SQL and <see cref="RuleDefinitionException"/> for the rest.
    /// </summary>
    public Rule CreateRule(string? id, string rawSql, IReadOnlyList<(string Name, JsonElement Params)> actions, string? description, bool enabled = true)
    {
        ArgumentNullException.ThrowIfNull(rawSql);
        ArgumentNullException.ThrowIfNull(actions);
        Rule rule;
        lock (_sync)
        {
            if (id is not null && _rules.ContainsKey(id))
            {
                throw new RuleDefinitionException($"rule {id} already exists");
            }

            string ruleId = id ?? NewId("rule:", _rules);
            var definition = new RuleDefinition(ruleId, rawSql, NewActions(actions), description ?? string.Empty, enabled, _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            rule = Build(definition);
            _rules[ruleId] = rule;
            _ruleOrder.Add(ruleId);
            RebuildLocked();
        }

        Changed?.Invoke();
        return rule;
    }

    /// <summary>Updates what is given (null keeps the current value); the rule's metrics carry over. Null if unknown.</summary>
    public Rule? UpdateRule(string id, string? rawSql, IReadOnlyList<(string Name, JsonElement Params)>? actions, string? description, bool? enabled)
    {
        ArgumentNullException.ThrowIfNull(id);
        Rule rule;
        lock (_sync)
        {
            if (!_rules.TryGetValue(id, out Rule? current))
            {
                return null;
            }

            RuleDefinition old = current.Definition;
            var definition = old with
            {
                RawSql = rawSql ?? old.RawSql,
                Actions = actions is null ? old.Actions : NewActions(actions),
                Description = description ?? old.Description,
                Enabled = enabled ?? old.Enabled,
            };
            rule = Build(definition);
            rule.CarryMetricsFrom(current);
            _rules[id] = rule;
            RebuildLocked();
        }

        Changed?.Invoke();
        return rule;
    }

    public bool DeleteRule(string id)
    {
        lock (_sync)
        {
            if (!_rules.Remove(id))
            {
                return false;
            }

            _ruleOrder.Remove(id);
            RebuildLocked();
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>Creates a resource of type <c>web_hook</c>; throws <see cref="RuleDefinitionException"/> for a bad one.</summary>
    public RuleResource CreateResource(string? id, string type, JsonElement config, string? description)
    {
        ArgumentNullException.ThrowIfNull(type);
        RuleResource resource;
        lock (_sync)
        {
            if (id is not null && _resources.ContainsKey(id))
            {
                throw new RuleDefinitionException($"resource {id} already exists");
            }

            string resourceId = id ?? NewId("resource:", _resources);
            resource = BuildResource(new ResourceDefinition(resourceId, type, config.ValueKind == JsonValueKind.Undefined ? "{}" : config.GetRawText(), description ?? string.Empty));
            _resources[resourceId] = resource;
            _resourceOrder.Add(resourceId);
        }

        Changed?.Invoke();
        return resource;
    }

    /// <summary>Deletes a resource no rule uses; false if unknown, <see cref="RuleDefinitionException"/> if in use.</summary>
    public bool DeleteResource(string id)
    {
        lock (_sync)
        {
            if (!_resources.ContainsKey(id))
            {
                return false;
            }

            foreach (Rule rule in _rules.Values)
            {
                foreach (RuleAction action in rule.Actions)
                {
                    if (string.Equals(action.ResourceId, id, StringComparison.Ordinal))
                    {
                        throw new RuleDefinitionException($"resource {id} is used by rule {rule.Id}");
                    }
                }
            }

            _resources.Remove(id);
            _resourceOrder.Remove(id);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>Every rule as stored, for persistence.</summary>
    public IReadOnlyList<RuleDefinition> ExportRules()
    {
        lock (_sync)
        {
            var list = new List<RuleDefinition>(_ruleOrder.Count);
            foreach (string id in _ruleOrder)
            {
                list.Add(_rules[id].Definition);
            }

            return list;
        }
    }

    /// <summary>Every resource as stored, for persistence.</summary>
    public IReadOnlyList<ResourceDefinition> ExportResources()
    {
        lock (_sync)
        {
            var list = new List<ResourceDefinition>(_resourceOrder.Count);
            foreach (string id in _resourceOrder)
            {
                list.Add(_resources[id].Definition);
            }

            return list;
        }
    }

    /// <summary>Puts back a resource saved by <see cref="ExportResources"/> (before the rules that use it); no <see cref="Changed"/>.</summary>
    public void RestoreResource(ResourceDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        lock (_sync)
        {
            RuleResource resource = BuildResource(definition);
            if (!_resources.ContainsKey(definition.Id))
            {
                _resourceOrder.Add(definition.Id);
            }

            _resources[definition.Id] = resource;
        }
    }

    /// <summary>Puts back a rule saved by <see cref="ExportRules"/>, replacing one with its id; no <see cref="Changed"/>.</summary>
    public void RestoreRule(RuleDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        lock (_sync)
        {
            Rule rule = Build(definition);
            if (!_rules.ContainsKey(definition.Id))
            {
                _ruleOrder.Add(definition.Id);
            }

            _rules[definition.Id] = rule;
            RebuildLocked();
        }
    }

    private static string NewId<T>(string prefix, Dictionary<string, T> existing)
    {
        while (true)
        {
            string id = prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            if (!existing.ContainsKey(id))
            {
                return id;
            }
        }
    }

    private RuleActionDefinition[] NewActions(IReadOnlyList<(string Name, JsonElement Params)> actions)
    {
        var list = new RuleActionDefinition[actions.Count];
        for (int i = 0; i < actions.Count; i++)
        {
            (string name, JsonElement parameters) = actions[i];
            string json = parameters.ValueKind == JsonValueKind.Undefined || parameters.ValueKind == JsonValueKind.Null ? "{}" : parameters.GetRawText();
            list[i] = new RuleActionDefinition($"{name}_{Interlocked.Increment(ref _actionSequence)}", name, json);
        }

        return list;
    }

    private void RebuildLocked()
    {
        TopicTrie<Rule, byte>? trie = null;
        var byEvent = new List<Rule>?[Enum.GetValues<RuleEventKind>().Length];
        int mask = 0;
        foreach (string id in _ruleOrder)
        {
            Rule rule = _rules[id];
            if (!rule.Enabled)
            {
                continue;
            }

            foreach (string from in rule.Sql.From)
            {
                if (RuleEvents.TryParse(from, out RuleEventKind kind))
                {
                    List<Rule> list = byEvent[(int)kind] ??= [];
                    if (!list.Contains(rule))
                    {
                        list.Add(rule);
                    }

                    mask |= 1 << (int)kind;
                }
                else
                {
                    trie ??= new TopicTrie<Rule, byte>();
                    trie.Subscribe(Encoding.UTF8.GetBytes(from), default, rule, 0);
                }
            }
        }

        var arrays = new Rule[byEvent.Length][];
        for (int i = 0; i < byEvent.Length; i++)
        {
            arrays[i] = byEvent[i] is { } list ? [.. list] : [];
        }

        Volatile.Write(ref _byEvent, arrays);
        Volatile.Write(ref _messageTrie, trie);
        if (trie is not null)
        {
            mask |= 1 << (int)RuleEventKind.MessagePublish;
        }

        Volatile.Write(ref _eventMask, mask);
        if (_ruleOrder.Count > 0)
        {
            EnsureStartedLocked();
        }
    }

    private static Rule[][] EmptyByEvent()
    {
        var arrays = new Rule[Enum.GetValues<RuleEventKind>().Length][];
        for (int i = 0; i < arrays.Length; i++)
        {
            arrays[i] = [];
        }

        return arrays;
    }

    private void EnsureStartedLocked()
    {
        if (_worker is not null || _stopping.IsCancellationRequested)
        {
            return;
        }

        _worker = Task.Run(ProcessQueueAsync);
        _sampler = _broker.TimeProvider.CreateTimer(static state => ((RuleEngine)state!).Sample(), this, s_samplePeriod, s_samplePeriod);
    }

    private void Sample()
    {
        foreach (Rule rule in Rules)
        {
            rule.Sample(s_samplePeriod.TotalSeconds);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? worker;
        lock (_sync)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _stopping.Cancel();
            worker = _worker;
        }

        _queue.Writer.TryComplete();
        if (_sampler is not null)
        {
            await _sampler.DisposeAsync().ConfigureAwait(false);
        }

        if (worker is not null)
        {
            try
            {
                await worker.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A web hook that ignores its cancellation; the process does not wait for it.
            }
        }

        _http?.Dispose();
        _stopping.Dispose();
    }
}
