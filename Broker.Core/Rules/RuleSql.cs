namespace Broker.Core.Rules;

/// <summary>
/// A rule's SQL compiled once: the FROM list and a plan that turns an event's columns into the selected fields, or
/// into nothing when the WHERE condition does not hold.
/// </summary>
public sealed class RuleSql
{
    private readonly SelectField[] _fields;
    private readonly SqlExpr? _where;

    private RuleSql(string text, SqlStatement statement)
    {
        Text = text;
        _fields = statement.Fields;
        _where = statement.Where;
        From = statement.From;
        bool usesAlias = false;
        foreach (SelectField field in _fields)
        {
            usesAlias |= field.Alias is not null;
        }

        _whereFirst = !usesAlias;
    }

    // Without aliases WHERE cannot refer to a selected field, so it runs first and a rule that does not apply builds
    // nothing.
    private readonly bool _whereFirst;

    public string Text { get; }

    /// <summary>Topic filters and <c>$events/...</c> names, as written.</summary>
    public IReadOnlyList<string> From { get; }

    /// <summary>Compiles <paramref name="sql"/>; throws <see cref="RuleSqlException"/> with the position of an error.</summary>
    public static RuleSql Compile(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        return new RuleSql(sql, SqlParser.Parse(sql));
    }

    /// <summary>The selected fields when the condition holds, else null.</summary>
    public Dictionary<string, object?>? Evaluate(RuleScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (_whereFirst && _where is not null && !RuleValues.IsTruthy(_where.Evaluate(scope)))
        {
            return null;
        }

        var output = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (SelectField field in _fields)
        {
            if (field.Expr is null)
            {
                foreach (KeyValuePair<string, object?> column in scope.Columns)
                {
                    output[column.Key] = column.Value;
                }

                continue;
            }

            object? value = field.Expr.Evaluate(scope);
            if (field.Alias is not null)
            {
                NestedPut(output, field.Alias.Split('.'), value);
            }
            else if (field.Expr is FieldExpr path)
            {
                var keys = new string[path.Steps.Length + 1];
                keys[0] = path.Name;
                for (int i = 0; i < path.Steps.Length; i++)
                {
                    keys[i + 1] = path.Steps[i].Key ?? path.Steps[i].Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                NestedPut(output, keys, value);
            }
            else
            {
                output[field.Text] = value;
            }
        }

        if (!_whereFirst && _where is not null)
        {
            scope.Selected = output;
            bool holds = RuleValues.IsTruthy(_where.Evaluate(scope));
            scope.Selected = null;
            if (!holds)
            {
                return null;
            }
        }

        return output;
    }

    // EMQX: SELECT payload.a.b gives {"payload":{"a":{"b":…}}}.
    private static void NestedPut(Dictionary<string, object?> output, string[] keys, object? value)
    {
        Dictionary<string, object?> map = output;
        for (int i = 0; i < keys.Length - 1; i++)
        {
            if (!map.TryGetValue(keys[i], out object? child) || child is not Dictionary<string, object?> childMap)
            {
                childMap = new Dictionary<string, object?>(StringComparer.Ordinal);
                map[keys[i]] = childMap;
            }

            map = childMap;
        }

        map[keys[^1]] = value;
    }
}
