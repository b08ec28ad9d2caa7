using System.Text.Json;

namespace Broker.Core.Rules;

/// <summary>What a rule listens to besides published messages (EMQX 4.4 <c>$events/...</c>).</summary>
public enum RuleEventKind
{
    MessagePublish,
    ClientConnected,
    ClientDisconnected,
    MessageDelivered,
    MessageAcked,
    MessageDropped,
    SessionSubscribed,
    SessionUnsubscribed,
}

/// <summary>The <c>$events/...</c> names of FROM and the <c>event</c> column of each.</summary>
public static class RuleEvents
{
    public const string Prefix = "$events/";

    private static readonly (string From, string Event, RuleEventKind Kind)[] s_events =
    [
        ("$events/client_connected", "client.connected", RuleEventKind.ClientConnected),
        ("$events/client_disconnected", "client.disconnected", RuleEventKind.ClientDisconnected),
        ("$events/message_delivered", "message.delivered", RuleEventKind.MessageDelivered),
        ("$events/message_acked", "message.acked", RuleEventKind.MessageAcked),
        ("$events/message_dropped", "message.dropped", RuleEventKind.MessageDropped),
        ("$events/session_subscribed", "session.subscribed", RuleEventKind.SessionSubscribed),
        ("$events/session_unsubscribed", "session.unsubscribed", RuleEventKind.SessionUnsubscribed),
    ];

    public static bool TryParse(string from, out RuleEventKind kind)
    {
        foreach ((string name, _, RuleEventKind k) in s_events)
        {
            if (string.Equals(name, from, StringComparison.Ordinal))
            {
                kind = k;
                return true;
            }
        }

        kind = RuleEventKind.MessagePublish;
        return false;
    }

    public static string EventName(RuleEventKind kind)
    {
        foreach ((_, string name, RuleEventKind k) in s_events)
        {
            if (k == kind)
            {
                return name;
            }
        }

        return "message.publish";
    }

    public static IEnumerable<string> FromNames
    {
        get
        {
            foreach ((string name, _, _) in s_events)
            {
                yield return name;
            }
        }
    }
}

/// <summary>One action of a rule as stored: its id, name and parameters (a JSON object's text).</summary>
public sealed record RuleActionDefinition(string Id, string Name, string ParamsJson);

/// <summary>A rule as stored, for persistence (<see cref="RuleEngine.ExportRules"/>, <see cref="RuleEngine.RestoreRule"/>).</summary>
public sealed record RuleDefinition(string Id, string RawSql, IReadOnlyList<RuleActionDefinition> Actions, string Description, bool Enabled, long CreatedAt);

/// <summary>A resource as stored: its id, type name (<c>web_hook</c>), configuration (a JSON object's text) and description.</summary>
public sealed record ResourceDefinition(string Id, string Type, string ConfigJson, string Description);

/// <summary>An action of a live rule, with its counters.</summary>
public sealed class RuleAction
{
    private long _success;
    private long _failed;

    internal RuleAction(RuleActionDefinition definition, JsonElement parameters)
    {
        Definition = definition;
        Parameters = parameters;
    }

    public RuleActionDefinition Definition { get; }

    public string Id => Definition.Id;

    public string Name => Definition.Name;

    /// <summary>The parameters as given (a JSON object).</summary>
    public JsonElement Parameters { get; }

    public long Success => Volatile.Read(ref _success);

    public long Failed => Volatile.Read(ref _failed);

    internal RuleTemplate? TopicTemplate { get; init; }

    internal RuleTemplate? PayloadTemplate { get; init; }

    internal RuleTemplate? PathTemplate { get; init; }

    internal int TargetQoS { get; init; }

    internal bool TargetRetain { get; init; }

    internal string? ResourceId { get; init; }

    internal string? Method { get; init; }

    internal IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    internal void CountSuccess() => Interlocked.Increment(ref _success);

    internal void CountFailure() => Interlocked.Increment(ref _failed);

    internal void CarryFrom(RuleAction previous)
    {
        _success = previous.Success;
        _failed = previous.Failed;
    }
}

/// <summary>
/// A live rule: its compiled SQL, its actions and its metrics. Immutable but for the counters; an update replaces the
/// whole rule (the counters carry over).
/// </summary>
public sealed class Rule
{
    private long _matched;
    private long _lastMatched;
    private double _speed;
    private double _speedMax;
    private double _speedLast5m;

    internal Rule(RuleDefinition definition, RuleSql sql, RuleAction[] actions)
    {
        Definition = definition;
        Sql = sql;
        Actions = actions;
    }

    public RuleDefinition Definition { get; }

    public string Id => Definition.Id;

    public bool Enabled => Definition.Enabled;

    public RuleSql Sql { get; }

    public IReadOnlyList<RuleAction> Actions { get; }

    public long Matched => Volatile.Read(ref _matched);

    /// <summary>Matches per second over the last sampling period (5 s).</summary>
    public double Speed => Volatile.Read(ref _speed);

    public double SpeedMax => Volatile.Read(ref _speedMax);

    /// <summary>Matches per second, averaged (exponentially) over about five minutes.</summary>
    public double SpeedLast5m => Volatile.Read(ref _speedLast5m);

    internal void CountMatch() => Interlocked.Increment(ref _matched);

    internal void CarryMetricsFrom(Rule previous)
    {
        _matched = previous.Matched;
        _lastMatched = previous._lastMatched;
        _speed = previous.Speed;
        _speedMax = previous.SpeedMax;
        _speedLast5m = previous.SpeedLast5m;
        for (int i = 0; i < Actions.Count && i < previous.Actions.Count; i++)
        {
            if (string.Equals(Actions[i].Id, previous.Actions[i].Id, StringComparison.Ordinal))
            {
                Actions[i].CarryFrom(previous.Actions[i]);
            }
        }
    }

    /// <summary>Called by the sampling timer alone.</summary>
    internal void Sample(double seconds)
    {
        long matched = Matched;
        double speed = Math.Round((matched - _lastMatched) / seconds, 2);
        _lastMatched = matched;
        Volatile.Write(ref _speed, speed);
        if (speed > _speedMax)
        {
            Volatile.Write(ref _speedMax, speed);
        }

        // An exponential average with a five-minute window.
        double alpha = Math.Min(1.0, seconds / 300.0);
        Volatile.Write(ref _speedLast5m, Math.Round(_speedLast5m + (alpha * (speed - _speedLast5m)), 2));
    }
}

/// <summary>A resource (an instance of a resource type, such as a web server for <c>data_to_webserver</c>).</summary>
public sealed class RuleResource
{
    internal RuleResource(ResourceDefinition definition, JsonElement config, Uri url, string method, IReadOnlyList<KeyValuePair<string, string>> headers, TimeSpan timeout)
    {
        Definition = definition;
        Config = config;
        Url = url;
        Method = method;
        Headers = headers;
        Timeout = timeout;
    }

    public ResourceDefinition Definition { get; }

    public string Id => Definition.Id;

    public string Type => Definition.Type;

    public JsonElement Config { get; }

    public Uri Url { get; }

    public string Method { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    public TimeSpan Timeout { get; }
}
