namespace Broker.Server.Configuration;

/// <summary>
/// One configurable setting: its name (the <c>--kebab-case</c> flag; the JSON key is the same name in snake_case),
/// how its value reads, and how it applies to <see cref="ServerOptions"/>. The table of these is the single
/// source for the parser, the config file and <c>--help</c>.
/// </summary>
internal sealed class OptionDefinition
{
    private readonly Action<ServerOptions, string> _apply;
    private readonly Func<ServerOptions, string> _format;

    public OptionDefinition(string section, string name, string valueName, string description, Action<ServerOptions, string> apply, Func<ServerOptions, string> format, bool isList = false)
    {
        IsList = isList;
        Section = section;
        Name = name;
        Flag = "--" + name;
        JsonKey = name.Replace('-', '_');
        ValueName = valueName;
        Description = description;
        _apply = apply;
        _format = format;
    }

    /// <summary>The heading it is listed under in <c>--help</c>.</summary>
    public string Section { get; }

    /// <summary>The kebab-case name, for example <c>max-inflight</c>.</summary>
    public string Name { get; }

    /// <summary>The command-line flag, for example <c>--max-inflight</c>.</summary>
    public string Flag { get; }

    /// <summary>The JSON config key, for example <c>max_inflight</c>.</summary>
    public string JsonKey { get; }

    /// <summary>How the value is shown in <c>--help</c>, for example <c>N</c> or <c>true|false</c>.</summary>
    public string ValueName { get; }

    public string Description { get; }

    /// <summary>Whether each use adds an item (repeatable flag; a JSON array of strings or objects in the config file).</summary>
    public bool IsList { get; }

    /// <summary>Parses <paramref name="value"/> and sets it. Throws <see cref="FormatException"/> or the setter's <see cref="ArgumentException"/>.</summary>
    public void Apply(ServerOptions options, string value) => _apply(options, value);

    /// <summary>The current value as it would be written on the command line (the default, on fresh options).</summary>
    public string Format(ServerOptions options) => _format(options);
}
