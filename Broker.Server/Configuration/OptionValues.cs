using System.Globalization;
using System.Net;
using Broker.Core.Configuration;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Transport.Tls;
using System.Security.Authentication;
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

    /// <summary>EMQX's <c>flapping_detect_policy</c>: <c>30, 1m, 5m</c> (count, window, ban time).</summary>
    public static FlappingPolicy ParseFlappingPolicy(string value)
    {
        string[] parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
        {
            throw new FormatException($"'{value}' is not COUNT,WINDOW,BAN (e.g. 30,1m,5m).");
        }

        int count = ParseInt(parts[0]);
        if (count < 1)
        {
            throw new FormatException($"'{parts[0]}' is not a positive count.");
        }

        return new FlappingPolicy(count, ParseDuration(parts[1]), ParseDuration(parts[2]));
    }

    public static string FormatFlappingPolicy(FlappingPolicy policy)
        => string.Create(CultureInfo.InvariantCulture, $"{policy.MaxCount},{(long)policy.Window.TotalSeconds}s,{(long)policy.BanTime.TotalSeconds}s");

    /// <summary>A positive duration as EMQX writes them: <c>30s</c>, <c>1m</c>, <c>2h</c>, or bare seconds.</summary>
    public static TimeSpan ParseDuration(string value)
    {
        char unit = value.Length > 0 ? char.ToLowerInvariant(value[^1]) : '\0';
        (string number, long scale) = unit switch
        {
            's' => (value[..^1], 1L),
            'm' => (value[..^1], 60L),
            'h' => (value[..^1], 3600L),
            'd' => (value[..^1], 86400L),
            _ => (value, 1L),
        };
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out long amount) || amount <= 0 || amount > int.MaxValue / scale)
        {
            throw new FormatException($"'{value}' is not a positive duration (30s, 1m, 5m, 1h).");
        }

        return TimeSpan.FromSeconds(amount * scale);
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

    /// <summary>A switch that may be left to the configuration: <c>true</c>, <c>false</c> or <c>auto</c> (null).</summary>
    public static bool? ParseAuto(string value)
        => value.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseBool(value);

    public static string FormatAuto(bool? value) => value is { } set ? Format(set) : "auto";

    /// <summary>EMQX's <c>verify</c>: <c>verify_none</c> or <c>verify_peer</c>.</summary>
    public static TlsVerifyMode ParseVerify(string value)
        => value.ToUpperInvariant() switch
        {
            "VERIFY_NONE" => TlsVerifyMode.VerifyNone,
            "VERIFY_PEER" => TlsVerifyMode.VerifyPeer,
            _ => throw new FormatException($"'{value}' is not verify_none or verify_peer."),
        };

    public static string FormatVerify(TlsVerifyMode value) => value == TlsVerifyMode.VerifyPeer ? "verify_peer" : "verify_none";

    /// <summary>EMQX's <c>peer_cert_as_username</c>: <c>cn</c>, <c>dn</c> or <c>off</c>.</summary>
    public static PeerCertName ParsePeerCertName(string value)
        => value.ToUpperInvariant() switch
        {
            "CN" => PeerCertName.Cn,
            "DN" => PeerCertName.Dn,
            "OFF" or "FALSE" => PeerCertName.Off,
            _ => throw new FormatException($"'{value}' is not cn, dn or off."),
        };

    public static string FormatPeerCertName(PeerCertName value) => value switch
    {
        PeerCertName.Cn => "cn",
        PeerCertName.Dn => "dn",
        _ => "off",
    };

    /// <summary>EMQX's <c>tls_versions</c>: a comma-separated list of <c>tlsv1.2</c> and <c>tlsv1.3</c>.</summary>
    public static SslProtocols ParseTlsVersions(string value)
    {
        SslProtocols protocols = SslProtocols.None;
        foreach (string item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            protocols |= item.ToUpperInvariant() switch
            {
                "TLSV1.2" => SslProtocols.Tls12,
                "TLSV1.3" => SslProtocols.Tls13,
                _ => throw new FormatException($"'{item}' is not tlsv1.2 or tlsv1.3 (older versions are not offered)."),
            };
        }

        return protocols != SslProtocols.None ? protocols : throw new FormatException("Give tlsv1.2, tlsv1.3 or both.");
    }

    public static string FormatTlsVersions(SslProtocols value)
        => string.Join(',', ((value & SslProtocols.Tls12) != 0 ? "tlsv1.2" : null, (value & SslProtocols.Tls13) != 0 ? "tlsv1.3" : null) switch
        {
            (string a, string b) => new[] { a, b },
            (string a, null) => new[] { a },
            (null, string b) => new[] { b },
            _ => [],
        });

    public static IReadOnlyList<string> ParseList(string value)
        => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    public static string? EmptyAsNull(string value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
