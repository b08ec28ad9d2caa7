using System.Globalization;
using System.Net;
using Broker.Core.Configuration;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Configuration;

/// <summary>Parsers and formatters of option values. Parsers throw <see cref="FormatException"/> with a message meant for the user.</summary>
internal static class OptionValues
{
    public static int ParseInt(string value)
        => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int result)
            ? result
            : throw new FormatException($"'{value}' is not an integer.");

    public static bool ParseBool(string value)
        => value.ToUpperInvariant() switch
        {
            "TRUE" => true,
            "FALSE" => false,
            _ => throw new FormatException($"'{value}' is not true or false."),
        };

    /// <summary>Whole seconds, as EMQX's durations are usually given; the option's setter checks the range.</summary>
    public static TimeSpan ParseSeconds(string value)
    {
        int seconds = ParseInt(value);
        return TimeSpan.FromSeconds(seconds);
    }

    public static QualityOfService ParseQoS(string value)
        => value switch
        {
            "0" => QualityOfService.AtMostOnce,
            "1" => QualityOfService.AtLeastOnce,
            "2" => QualityOfService.ExactlyOnce,
            _ => throw new FormatException($"'{value}' is not a QoS (0, 1 or 2)."),
        };

    public static IPAddress ParseAddress(string value)
        => IPAddress.TryParse(value, out IPAddress? address)
            ? address
            : throw new FormatException($"'{value}' is not an IP address (for example 0.0.0.0, 127.0.0.1 or ::).");

    /// <summary>EMQX's names for <c>broker.shared_subscription_strategy</c>.</summary>
    public static SharedSubscriptionStrategy ParseStrategy(string value)
        => value.ToUpperInvariant() switch
        {
            "RANDOM" => SharedSubscriptionStrategy.Random,
            "ROUND_ROBIN" => SharedSubscriptionStrategy.RoundRobin,
            "STICKY" => SharedSubscriptionStrategy.Sticky,
            "HASH_CLIENTID" => SharedSubscriptionStrategy.HashClientId,
            "HASH_TOPIC" => SharedSubscriptionStrategy.HashTopic,
            _ => throw new FormatException($"'{value}' is not one of random, round_robin, sticky, hash_clientid, hash_topic."),
        };

    public static string FormatStrategy(SharedSubscriptionStrategy strategy)
        => strategy switch
        {
            SharedSubscriptionStrategy.RoundRobin => "round_robin",
            SharedSubscriptionStrategy.Sticky => "sticky",
            SharedSubscriptionStrategy.HashClientId => "hash_clientid",
            SharedSubscriptionStrategy.HashTopic => "hash_topic",
            _ => "random",
        };

    public static LogLevel ParseLogLevel(string value)
        => value.ToUpperInvariant() switch
        {
            "TRACE" => LogLevel.Trace,
            "DEBUG" => LogLevel.Debug,
            "INFO" or "INFORMATION" => LogLevel.Information,
            "WARN" or "WARNING" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" => LogLevel.Critical,
            "NONE" => LogLevel.None,
            _ => throw new FormatException($"'{value}' is not one of trace, debug, info, warning, error, critical, none."),
        };

    public static string FormatLogLevel(LogLevel level)
        => level switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warning",
            LogLevel.Error => "error",
            LogLevel.Critical => "critical",
            _ => "none",
        };

    public static PasswordHashAlgorithm ParsePasswordHash(string value)
        => value.ToUpperInvariant() switch
        {
            "SHA256" => PasswordHashAlgorithm.Sha256,
            "SHA512" => PasswordHashAlgorithm.Sha512,
            _ => throw new FormatException($"'{value}' is not sha256 or sha512."),
        };

    public static string FormatPasswordHash(PasswordHashAlgorithm value) => value == PasswordHashAlgorithm.Sha512 ? "sha512" : "sha256";

    public static AclNoMatch ParseAclNoMatch(string value)
        => value.ToUpperInvariant() switch
        {
            "ALLOW" => AclNoMatch.Allow,
            "DENY" => AclNoMatch.Deny,
            _ => throw new FormatException($"'{value}' is not allow or deny."),
        };

    public static AclDenyAction ParseAclDenyAction(string value)
        => value.ToUpperInvariant() switch
        {
            "IGNORE" => AclDenyAction.Ignore,
            "DISCONNECT" => AclDenyAction.Disconnect,
            _ => throw new FormatException($"'{value}' is not ignore or disconnect."),
        };

    /// <summary>A share: <c>0.8</c> or <c>80%</c>.</summary>
    public static double ParseFraction(string value)
    {
        bool percent = value.EndsWith('%');
        string number = percent ? value[..^1] : value;
        return double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double result)
            ? (percent ? result / 100 : result)
            : throw new FormatException($"'{value}' is not a fraction (0.8) or a percentage (80%).");
    }

    /// <summary>An optional text setting (a file name, a password): <c>none</c> stands for not set, as the command line takes no empty value.</summary>
    public static string NoneAsEmpty(string value) => value == "none" ? string.Empty : value;

    public static string EmptyAsNone(string value) => value.Length == 0 ? "none" : value;

    public static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    public static string FormatCount(int count) => count == 0 ? "none" : count.ToString(CultureInfo.InvariantCulture) + " given";

    public static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Format(bool value) => value ? "true" : "false";

    public static string Format(TimeSpan value) => ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    public static string Format(QualityOfService value) => ((int)value).ToString(CultureInfo.InvariantCulture);
}
