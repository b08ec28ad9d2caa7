using System.Reflection;
using System.Text;
using Broker.Server.Configuration;

namespace Broker.Server;

/// <summary>What the command line asks for.</summary>
internal enum CommandLineAction
{
    /// <summary>Run the broker with <see cref="CommandLineResult.Options"/>.</summary>
    Run,
    /// <summary>Print <see cref="CommandLine.GetUsage"/> and exit 0.</summary>
    Help,
    /// <summary>Print the version and exit 0.</summary>
    Version,
    /// <summary>Print <see cref="CommandLineResult.Error"/> and exit 2.</summary>
    Error,
}

/// <summary>The outcome of <see cref="CommandLine.Parse"/>.</summary>
internal sealed class CommandLineResult
{
    private CommandLineResult(CommandLineAction action, ServerOptions? options, string? configFile, string? error)
    {
        Action = action;
        Options = options;
        ConfigFile = configFile;
        Error = error;
    }

    public CommandLineAction Action { get; }

    /// <summary>The options to run with, when <see cref="Action"/> is <see cref="CommandLineAction.Run"/>.</summary>
    public ServerOptions? Options { get; }

    /// <summary>The config file that was applied, if any.</summary>
    public string? ConfigFile { get; }

    /// <summary>One line naming the flag or config key at fault, when <see cref="Action"/> is <see cref="CommandLineAction.Error"/>.</summary>
    public string? Error { get; }

    public static CommandLineResult Run(ServerOptions options, string? configFile) => new(CommandLineAction.Run, options, configFile, null);

    public static CommandLineResult Fail(string error) => new(CommandLineAction.Error, null, null, error);

    public static CommandLineResult For(CommandLineAction action) => new(action, null, null, null);
}

/// <summary>
/// Parses <c>[--config FILE] [--name VALUE | --name=VALUE]...</c>: defaults, then the config file, then the flags in
/// order (the last of a repeated flag wins). Every flag takes a value; the names come from <see cref="OptionTable"/>.
/// </summary>
internal static class CommandLine
{
    public const string ConfigFlag = "--config";

    /// <summary>Exit code for a usage error: unknown flag, missing or invalid value (as getopt-style tools do).</summary>
    public const int UsageErrorExitCode = 2;

    public static CommandLineResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        foreach (string arg in args)
        {
            if (arg is "--help" or "-h" or "-?")
            {
                return CommandLineResult.For(CommandLineAction.Help);
            }

            if (arg is "--version")
            {
                return CommandLineResult.For(CommandLineAction.Version);
            }
        }

        try
        {
            // Every flag is checked before the config file is read, so a typo is reported as such.
            var flags = new List<(string Flag, OptionDefinition? Definition, string Value)>(args.Count / 2);
            string? configFile = null;
            for (int i = 0; i < args.Count; i++)
            {
                string arg = args[i];
                if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                {
                    throw new OptionException($"unexpected argument '{arg}': options are written --name VALUE.");
                }

                string flag = arg;
                string? value = null;
                int equals = arg.IndexOf('=', StringComparison.Ordinal);
                if (equals >= 0)
                {
                    flag = arg[..equals];
                    value = arg[(equals + 1)..];
                }

                OptionDefinition? definition = null;
                if (flag != ConfigFlag)
                {
                    definition = OptionTable.FindByName(flag[2..])
                        ?? throw new OptionException($"unknown option '{flag}'. Run with --help to list the options.");
                }

                if (value is null)
                {
                    if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        throw new OptionException($"option {flag} needs a value.");
                    }

                    value = args[++i];
                }

                if (value.Length == 0)
                {
                    throw new OptionException($"option {flag} needs a value.");
                }

                if (definition is null)
                {
                    configFile = value;
                }
                else
                {
                    flags.Add((flag, definition, value));
                }
            }

            var options = new ServerOptions();
            if (configFile is not null)
            {
                ConfigFile.Apply(options, configFile);
            }

            foreach ((string flag, OptionDefinition? definition, string value) in flags)
            {
                Apply(definition!, options, value, $"option {flag}");
            }

            return CommandLineResult.Run(options, configFile);
        }
        catch (OptionException ex)
        {
            return CommandLineResult.Fail(ex.Message);
        }
    }

    /// <summary>Applies one value, turning a parse or range failure into an <see cref="OptionException"/> that names <paramref name="source"/>.</summary>
    internal static void Apply(OptionDefinition definition, ServerOptions options, string value, string source)
    {
        try
        {
            definition.Apply(options, value);
        }
        catch (FormatException ex)
        {
            throw new OptionException($"{source}: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            // The setters' messages ("Must be between 1 and 65535.") are for people; drop the parameter suffix and the
            // "Actual value" line the exception appends.
            throw new OptionException($"{source}: invalid value '{value}': {SettersMessage(ex)}", ex);
        }
    }

    public static string GetVersion()
    {
        Assembly assembly = typeof(CommandLine).Assembly;
        return assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";
    }

    public static string GetUsage()
    {
        var defaults = new ServerOptions();
        int width = 0;
        foreach (OptionDefinition definition in OptionTable.All)
        {
            width = Math.Max(width, definition.Flag.Length + 1 + definition.ValueName.Length);
        }

        width += 3;
        var text = new StringBuilder();
        text.AppendLine("Usage: Broker.Server [--config FILE] [--OPTION VALUE]...");
        text.AppendLine();
        text.AppendLine("Runs the MQTT broker. With no options it serves MQTT over TCP on 0.0.0.0:1883 and the management API on 8081.");
        text.AppendLine("Each option is --name VALUE or --name=VALUE. Durations are whole seconds, sizes bytes.");
        text.AppendLine("The JSON config file is one object keyed by the same names in snake_case:");
        text.AppendLine("--max-inflight 64 is {\"max_inflight\": 64}. Flags override the file.");
        text.AppendLine("Exit codes: 0 done, 1 failed to start, 2 bad command line or config file.");
        text.AppendLine();
        AppendRow(text, width, "--config FILE", "JSON config file, applied before the flags.");
        AppendRow(text, width, "--help, -h", "Show this help and exit.");
        AppendRow(text, width, "--version", "Show the version and exit.");

        string? section = null;
        foreach (OptionDefinition definition in OptionTable.All)
        {
            if (definition.Section != section)
            {
                section = definition.Section;
                text.AppendLine();
                text.Append(section).AppendLine(":");
            }

            AppendRow(text, width, definition.Flag + " " + definition.ValueName, $"{definition.Description} [default: {definition.Format(defaults)}]");
        }

        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, int width, string left, string right)
        => text.Append("  ").Append(left.PadRight(width)).AppendLine(right);

    private static string SettersMessage(ArgumentException exception)
    {
        string message = exception.Message;
        int end = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (end < 0)
        {
            end = message.IndexOfAny(['\r', '\n']);
        }

        return end < 0 ? message : message[..end];
    }
}
