using System.Text;

namespace Broker.Core.Rules;

/// <summary>
/// A text with <c>${field}</c> placeholders (<c>${payload.x}</c> follows a path), rendered from a rule's selected
/// fields, then from the event's columns. Strings go in as they are, numbers invariant, maps and arrays as JSON, a
/// missing field as nothing.
/// </summary>
public sealed class RuleTemplate
{
    private readonly (string Text, string[]? Path)[] _parts;

    private RuleTemplate(string source, (string, string[]?)[] parts)
    {
        Source = source;
        _parts = parts;
    }

    public string Source { get; }

    public bool IsEmpty => Source.Length == 0;

    public static RuleTemplate Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var parts = new List<(string, string[]?)>();
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf("${", i, StringComparison.Ordinal);
            int close = open < 0 ? -1 : template.IndexOf('}', open + 2);
            if (open < 0 || close < 0)
            {
                parts.Add((template[i..], null));
                break;
            }

            if (open > i)
            {
                parts.Add((template[i..open], null));
            }

            string name = template[(open + 2)..close].Trim();
            parts.Add((name, name.Split('.')));
            i = close + 1;
        }

        return new RuleTemplate(template, [.. parts]);
    }

    public string Render(Dictionary<string, object?> selected, Dictionary<string, object?>? columns)
    {
        ArgumentNullException.ThrowIfNull(selected);
        var text = new StringBuilder();
        foreach ((string part, string[]? path) in _parts)
        {
            if (path is null)
            {
                text.Append(part);
                continue;
            }

            object? value = Resolve(selected, path, out bool found);
            if (!found && columns is not null)
            {
                value = Resolve(columns, path, out _);
            }

            text.Append(RuleValues.ToText(value));
        }

        return text.ToString();
    }

    private static object? Resolve(Dictionary<string, object?> root, string[] path, out bool found)
    {
        found = root.TryGetValue(path[0], out object? value);
        for (int i = 1; found && i < path.Length; i++)
        {
            value = long.TryParse(path[i], out long index) && value is List<object?> ? RuleValues.Index(value, index) : RuleValues.Get(value, path[i]);
            found = value is not null;
        }

        return value;
    }
}
