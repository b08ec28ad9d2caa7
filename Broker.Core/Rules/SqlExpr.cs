using System.Text;
using Broker.Core.Topics;

namespace Broker.Core.Rules;

/// <summary>
/// What one evaluation of a rule sees: the event's columns (<c>clientid</c>, <c>payload</c>, <c>topic</c>...) and,
/// once the SELECT list has run, the fields it produced, so that WHERE can use their aliases as EMQX allows.
/// </summary>
public sealed class RuleScope
{
    private object? _payloadJson;
    private bool _payloadDecoded;

    public RuleScope(Dictionary<string, object?> columns)
    {
        Columns = columns ?? throw new ArgumentNullException(nameof(columns));
    }

    public Dictionary<string, object?> Columns { get; }

    /// <summary>The SELECT output while WHERE runs; null before.</summary>
    public Dictionary<string, object?>? Selected { get; internal set; }

    /// <summary>When the rule runs (<c>now_timestamp()</c>).</summary>
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;

    internal object? Lookup(string name)
    {
        if (Selected is not null && Selected.TryGetValue(name, out object? selected))
        {
            return selected;
        }

        return Columns.TryGetValue(name, out object? value) ? value : null;
    }

    /// <summary>The payload decoded as JSON, once per evaluation however many paths read it.</summary>
    internal object? PayloadJson()
    {
        if (!_payloadDecoded)
        {
            _payloadDecoded = true;
            _payloadJson = Columns.TryGetValue("payload", out object? payload) && payload is string text && RuleValues.TryParseJson(text, out object? json)
                ? json
                : null;
        }

        return _payloadJson;
    }
}

/// <summary>A node of a compiled rule: literals, field paths, operators and function calls.</summary>
internal abstract class SqlExpr(int position)
{
    /// <summary>1-based offset in the SQL where the expression starts.</summary>
    public int Position { get; } = position;

    public abstract object? Evaluate(RuleScope scope);
}

internal sealed class LiteralExpr(int position, object? value) : SqlExpr(position)
{
    public object? Value { get; } = value;

    public override object? Evaluate(RuleScope scope) => Value;
}

/// <summary>One step of a field path: a key, or a 1-based array index (<c>payload.list[1]</c>).</summary>
internal readonly record struct PathStep(string? Key, long Index);

internal sealed class FieldExpr(int position, string name, PathStep[] steps) : SqlExpr(position)
{
    public string Name { get; } = name;

    public PathStep[] Steps { get; } = steps;

    public override object? Evaluate(RuleScope scope)
    {
        object? value;
        // payload.<path> reads the received payload, even where SELECT built a "payload" object of its own.
        if (Steps.Length > 0 && string.Equals(Name, "payload", StringComparison.Ordinal) && scope.Columns.ContainsKey("payload"))
        {
            value = scope.PayloadJson();
        }
        else
        {
            value = scope.Lookup(Name);
        }

        foreach (PathStep step in Steps)
        {
            value = step.Key is not null ? RuleValues.Get(value, step.Key) : RuleValues.Index(value, step.Index);
            if (value is null)
            {
                return null;
            }
        }

        return value;
    }
}

internal enum BinaryOp
{
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    TopicMatch,
    Add,
    Subtract,
    Multiply,
    Divide,
    IntegerDivide,
    Modulo,
}

internal sealed class BinaryExpr(int position, BinaryOp op, SqlExpr left, SqlExpr right) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope)
    {
        object? l = left.Evaluate(scope);
        object? r = right.Evaluate(scope);
        switch (op)
        {
            case BinaryOp.Equal:
                return RuleValues.AreEqual(l, r);
            case BinaryOp.NotEqual:
                return !RuleValues.AreEqual(l, r);
            case BinaryOp.Greater:
                return RuleValues.Compare(l, r) is > 0;
            case BinaryOp.Less:
                return RuleValues.Compare(l, r) is < 0;
            case BinaryOp.GreaterOrEqual:
                return RuleValues.Compare(l, r) is >= 0;
            case BinaryOp.LessOrEqual:
                return RuleValues.Compare(l, r) is <= 0;
            case BinaryOp.TopicMatch:
                return l is string topic && r is string filter
                    && TopicValidator.Matches(Encoding.UTF8.GetBytes(filter), Encoding.UTF8.GetBytes(topic));
            default:
                return Arithmetic(op, l, r);
        }
    }

    private static object? Arithmetic(BinaryOp op, object? l, object? r)
    {
        if (op == BinaryOp.Add && (l is string || r is string) && !(RuleValues.IsNumber(l) || RuleValues.IsNumber(r)))
        {
            // EMQX: + on two strings concatenates.
            return RuleValues.ToText(l) + RuleValues.ToText(r);
        }

        object? a = RuleValues.ToNumber(l);
        object? b = RuleValues.ToNumber(r);
        if (a is null || b is null)
        {
            return null;
        }

        if (a is long x && b is long y)
        {
            return op switch
            {
                BinaryOp.Add => (object)(x + y),
                BinaryOp.Subtract => x - y,
                BinaryOp.Multiply => x * y,
                BinaryOp.Divide => y == 0 ? null : (double)x / y,
                BinaryOp.IntegerDivide => y == 0 ? null : (object)(x / y),
                BinaryOp.Modulo => y == 0 ? null : (object)(x % y),
                _ => null,
            };
        }

        RuleValues.TryNumber(a, out double p);
        RuleValues.TryNumber(b, out double q);
        return op switch
        {
            BinaryOp.Add => (object)(p + q),
            BinaryOp.Subtract => p - q,
            BinaryOp.Multiply => p * q,
            BinaryOp.Divide => q == 0 ? null : p / q,
            BinaryOp.IntegerDivide => q == 0 ? null : (object)(long)Math.Truncate(p / q),
            BinaryOp.Modulo => q == 0 ? null : p % q,
            _ => null,
        };
    }
}

internal sealed class AndExpr(int position, SqlExpr left, SqlExpr right) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope) => RuleValues.IsTruthy(left.Evaluate(scope)) && RuleValues.IsTruthy(right.Evaluate(scope));
}

internal sealed class OrExpr(int position, SqlExpr left, SqlExpr right) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope) => RuleValues.IsTruthy(left.Evaluate(scope)) || RuleValues.IsTruthy(right.Evaluate(scope));
}

internal sealed class NotExpr(int position, SqlExpr operand) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope) => !RuleValues.IsTruthy(operand.Evaluate(scope));
}

internal sealed class NegateExpr(int position, SqlExpr operand) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope) => RuleValues.ToNumber(operand.Evaluate(scope)) switch
    {
        long l => (object)(-l),
        double d => -d,
        _ => null,
    };
}

internal sealed class InExpr(int position, SqlExpr value, SqlExpr[] list, bool negated) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope)
    {
        object? v = value.Evaluate(scope);
        foreach (SqlExpr item in list)
        {
            if (RuleValues.AreEqual(v, item.Evaluate(scope)))
            {
                return !negated;
            }
        }

        return negated;
    }
}

internal sealed class CallExpr(int position, SqlFunction function, SqlExpr[] args) : SqlExpr(position)
{
    public override object? Evaluate(RuleScope scope)
    {
        var values = new object?[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            values[i] = args[i].Evaluate(scope);
        }

        return function.Invoke(values, scope);
    }
}
