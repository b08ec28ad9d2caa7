namespace Broker.Core.Rules;

/// <summary>
/// A rule's SQL could not be compiled: <see cref="Position"/> is the 1-based character offset in the statement where
/// the problem was found, and the message says what was expected there.
/// </summary>
public sealed class RuleSqlException : Exception
{
    public RuleSqlException()
    {
    }

    public RuleSqlException(string message)
        : base(message)
    {
    }

    public RuleSqlException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RuleSqlException(string reason, int position)
        : base($"syntax error at position {position}: {reason}")
    {
        Reason = reason;
        Position = position;
    }

    /// <summary>What was wrong, without the position.</summary>
    public string Reason { get; } = string.Empty;

    /// <summary>1-based character offset in the SQL statement.</summary>
    public int Position { get; }
}

/// <summary>A rule definition was refused (unknown action, missing resource, bad parameter).</summary>
public sealed class RuleDefinitionException : Exception
{
    public RuleDefinitionException()
    {
    }

    public RuleDefinitionException(string message)
        : base(message)
    {
    }

    public RuleDefinitionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
