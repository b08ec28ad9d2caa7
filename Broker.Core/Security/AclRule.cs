namespace Broker.Core.Security;

/// <summary>Whom an ACL rule applies to (EMQX's <c>{clientid, Id} | {username, Name} | all</c>).</summary>
public enum AclTarget
{
    /// <summary>One client id.</summary>
    ClientId,
    /// <summary>One username.</summary>
    Username,
    /// <summary>Every client (<c>$all</c>).</summary>
    All,
}

/// <summary>What an ACL rule governs. EMQX's <c>pubsub</c> is stored as one rule of each.</summary>
public enum AclAction
{
    /// <summary>PUBLISH (<c>pub</c>).</summary>
    Publish,
    /// <summary>SUBSCRIBE (<c>sub</c>).</summary>
    Subscribe,
}

/// <summary>An ACL rule's verdict.</summary>
public enum AclAccess
{
    /// <summary>Allowed.</summary>
    Allow,
    /// <summary>Denied.</summary>
    Deny,
}

/// <summary>
/// One rule of the built-in ACL (EMQX 4.4's <c>emqx_acl_mnesia</c> row <c>{login, topic, action, access, created_at}</c>).
/// <see cref="Topic"/> is a topic filter; <c>%c</c> and <c>%u</c> stand for the client's id and username.
/// </summary>
/// <param name="Target">Client id, username or all.</param>
/// <param name="Who">The client id or username; <c>$all</c> for <see cref="AclTarget.All"/>.</param>
/// <param name="Topic">The topic filter.</param>
/// <param name="Action">Publish or subscribe.</param>
/// <param name="Access">Allow or deny.</param>
/// <param name="CreatedAt">Unix milliseconds; within a target group, newer rules are checked first.</param>
public sealed record AclRule(AclTarget Target, string Who, string Topic, AclAction Action, AclAccess Access, long CreatedAt)
{
    /// <summary>The <see cref="Who"/> of <see cref="AclTarget.All"/> rules.</summary>
    public const string AllWho = "$all";

    internal byte[] TopicBytes { get; } = System.Text.Encoding.UTF8.GetBytes(Topic);

    internal bool HasPlaceholders { get; } = Topic.Contains("%c", StringComparison.Ordinal) || Topic.Contains("%u", StringComparison.Ordinal);

    /// <summary>Insertion order, to break <see cref="CreatedAt"/> ties (newest first).</summary>
    internal long Sequence { get; init; }
}
