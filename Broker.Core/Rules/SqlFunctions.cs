using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Broker.Core.Rules;

/// <summary>A built-in SQL function with its arity, resolved when the rule compiles.</summary>
internal sealed class SqlFunction(string name, int minArgs, int maxArgs, Func<object?[], RuleScope, object?> invoke)
{
    public string Name { get; } = name;

    public int MinArgs { get; } = minArgs;

    public int MaxArgs { get; } = maxArgs;

    public object? Invoke(object?[] args, RuleScope scope) => invoke(args, scope);
}

/// <summary>
/// The functions rules may call, named as in EMQX 4.4's rule engine (<c>emqx_rule_funcs</c>): math, type conversion
/// and checks, strings, maps, hashing and encoding, JSON and time. A wrong argument gives null (EMQX's
/// <c>undefined</c>) instead of failing the rule.
/// </summary>
internal static class SqlFunctions
{
    private static readonly TimeSpan s_regexTimeout = TimeSpan.FromMilliseconds(100);

    private static readonly Dictionary<string, SqlFunction> s_functions = Build();

    public static bool TryGet(string name, out SqlFunction? function) => s_functions.TryGetValue(name, out function);

    public static IEnumerable<string> Names => s_functions.Keys;

    private static Dictionary<string, SqlFunction> Build()
    {
        var table = new Dictionary<string, SqlFunction>(StringComparer.OrdinalIgnoreCase);
        void Add(string name, int min, int max, Func<object?[], RuleScope, object?> f) => table[name] = new SqlFunction(name, min, max, f);
        void Math1(string name, Func<double, double> f) => Add(name, 1, 1, (a, _) => RuleValues.TryNumber(a[0], out double x) ? Finite(f(x)) : null);

        // Math
        Add("abs", 1, 1, (a, _) => RuleValues.ToNumber(a[0]) switch { long l => (object)Math.Abs(l), double d => Math.Abs(d), _ => null });
        Add("ceil", 1, 1, (a, _) => RuleValues.TryNumber(a[0], out double x) ? (long)Math.Ceiling(x) : null);
        Add("floor", 1, 1, (a, _) => RuleValues.TryNumber(a[0], out double x) ? (long)Math.Floor(x) : null);
        Add("round", 1, 1, (a, _) => RuleValues.TryNumber(a[0], out double x) ? (long)Math.Round(x, MidpointRounding.AwayFromZero) : null);
        Math1("sqrt", Math.Sqrt);
        Math1("exp", Math.Exp);
        Math1("log", Math.Log);
        Math1("log10", Math.Log10);
        Math1("log2", Math.Log2);
        Math1("sin", Math.Sin);
        Math1("cos", Math.Cos);
        Math1("tan", Math.Tan);
        Math1("asin", Math.Asin);
        Math1("acos", Math.Acos);
        Math1("atan", Math.Atan);
        Add("power", 2, 2, (a, _) => RuleValues.TryNumber(a[0], out double x) && RuleValues.TryNumber(a[1], out double y) ? Finite(Math.Pow(x, y)) : null);
        Add("fmod", 2, 2, (a, _) => RuleValues.TryNumber(a[0], out double x) && RuleValues.TryNumber(a[1], out double y) && y != 0 ? x % y : null);

        // Type conversion and checks
        Add("str", 1, 1, (a, _) => RuleValues.ToText(a[0]));
        Add("str_utf8", 1, 1, (a, _) => RuleValues.ToText(a[0]));
        Add("int", 1, 1, (a, _) => a[0] switch
        {
            bool b => b ? 1L : 0L,
            _ => RuleValues.ToNumber(a[0]) switch { long l => l, double d => (long)Math.Truncate(d), _ => null },
        });
        Add("float", 1, 1, (a, _) => RuleValues.TryNumber(a[0], out double x) ? x : null);
        Add("bool", 1, 1, (a, _) => a[0] switch
        {
            bool b => b,
            long l => l != 0,
            string s when string.Equals(s, "true", StringComparison.OrdinalIgnoreCase) => true,
            string s when string.Equals(s, "false", StringComparison.OrdinalIgnoreCase) => false,
            _ => null,
        });
        Add("is_null", 1, 1, (a, _) => a[0] is null);
        Add("is_not_null", 1, 1, (a, _) => a[0] is not null);
        Add("is_str", 1, 1, (a, _) => a[0] is string);
        Add("is_bool", 1, 1, (a, _) => a[0] is bool);
        Add("is_int", 1, 1, (a, _) => a[0] is long);
        Add("is_float", 1, 1, (a, _) => a[0] is double);
        Add("is_num", 1, 1, (a, _) => a[0] is long or double);
        Add("is_map", 1, 1, (a, _) => a[0] is Dictionary<string, object?>);
        Add("is_array", 1, 1, (a, _) => a[0] is List<object?>);

        // Strings
        Add("lower", 1, 1, (a, _) => a[0] is null ? null : RuleValues.ToText(a[0]).ToLowerInvariant());
        Add("upper", 1, 1, (a, _) => a[0] is null ? null : RuleValues.ToText(a[0]).ToUpperInvariant());
        Add("trim", 1, 1, (a, _) => a[0] is null ? null : RuleValues.ToText(a[0]).Trim());
        Add("ltrim", 1, 1, (a, _) => a[0] is null ? null : RuleValues.ToText(a[0]).TrimStart());
        Add("rtrim", 1, 1, (a, _) => a[0] is null ? null : RuleValues.ToText(a[0]).TrimEnd());
        Add("reverse", 1, 1, (a, _) =>
        {
            if (a[0] is null)
            {
                return null;
            }

            char[] chars = RuleValues.ToText(a[0]).ToCharArray();
            Array.Reverse(chars);
            return new string(chars);
        });
        Add("strlen", 1, 1, (a, _) => a[0] is null ? null : (long)RuleValues.ToText(a[0]).Length);
        Add("substr", 2, 3, (a, _) => Substring(a));
        Add("concat", 2, 2, (a, _) => RuleValues.ToText(a[0]) + RuleValues.ToText(a[1]));
        Add("replace", 3, 3, (a, _) => a[0] is null ? null : RuleValues.ToText(a[0]).Replace(RuleValues.ToText(a[1]), RuleValues.ToText(a[2]), StringComparison.Ordinal));
        Add("split", 2, 2, (a, _) =>
        {
            if (a[0] is null)
            {
                return null;
            }

            var parts = new List<object?>();
            foreach (string part in RuleValues.ToText(a[0]).Split(RuleValues.ToText(a[1]), StringSplitOptions.RemoveEmptyEntries))
            {
                parts.Add(part);
            }

            return parts;
        });
        Add("regex_match", 2, 2, (a, _) => a[0] is null ? null : SafeRegex(() => Regex.IsMatch(RuleValues.ToText(a[0]), RuleValues.ToText(a[1]), RegexOptions.None, s_regexTimeout)));
        Add("regex_replace", 3, 3, (a, _) => a[0] is null ? null : SafeRegex(() => Regex.Replace(RuleValues.ToText(a[0]), RuleValues.ToText(a[1]), RuleValues.ToText(a[2]), RegexOptions.None, s_regexTimeout)));

        // Maps and arrays
        Add("map_get", 2, 3, (a, _) => RuleValues.Get(a[1], RuleValues.ToText(a[0])) ?? (a.Length > 2 ? a[2] : null));
        Add("map_put", 3, 3, (a, _) =>
        {
            var map = a[2] is Dictionary<string, object?> m ? new Dictionary<string, object?>(m, StringComparer.Ordinal) : new Dictionary<string, object?>(StringComparer.Ordinal);
            map[RuleValues.ToText(a[0])] = a[1];
            return map;
        });
        Add("nth", 2, 2, (a, _) => RuleValues.ToNumber(a[0]) is long n ? RuleValues.Index(a[1], n) : null);
        Add("length", 1, 1, (a, _) => a[0] switch { List<object?> l => (long)l.Count, Dictionary<string, object?> m => (long)m.Count, string s => (long)s.Length, _ => null });
        Add("contains", 2, 2, (a, _) => a[1] is List<object?> list && list.Exists(x => RuleValues.AreEqual(x, a[0])));

        // Hashing and encoding
        // md5 and sha are EMQX's functions for checksums and ids rules compute, not for protecting anything.
#pragma warning disable CA5350, CA5351
        Add("md5", 1, 1, (a, _) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(RuleValues.ToText(a[0])))));
        Add("sha", 1, 1, (a, _) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(RuleValues.ToText(a[0])))));
#pragma warning restore CA5350, CA5351
        Add("sha256", 1, 1, (a, _) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(RuleValues.ToText(a[0])))));
        Add("base64_encode", 1, 1, (a, _) => Convert.ToBase64String(Encoding.UTF8.GetBytes(RuleValues.ToText(a[0]))));
        Add("base64_decode", 1, 1, (a, _) =>
        {
            byte[] buffer = new byte[RuleValues.ToText(a[0]).Length];
            return Convert.TryFromBase64String(RuleValues.ToText(a[0]), buffer, out int written) ? Encoding.UTF8.GetString(buffer, 0, written) : null;
        });
        Add("json_encode", 1, 1, (a, _) => RuleValues.ToJson(a[0]));
        Add("json_decode", 1, 1, (a, _) => a[0] is string s && RuleValues.TryParseJson(s, out object? v) ? v : null);

        // Time
        Add("now_timestamp", 0, 1, (a, scope) => Timestamp(scope.Now, a.Length > 0 ? RuleValues.ToText(a[0]) : "second"));
        Add("now_rfc3339", 0, 1, (a, scope) => Rfc3339(scope.Now, a.Length > 0 ? RuleValues.ToText(a[0]) : "second"));
        Add("unix_ts_to_rfc3339", 1, 2, (a, _) =>
        {
            if (RuleValues.ToNumber(a[0]) is not long ts)
            {
                return null;
            }

            string unit = a.Length > 1 ? RuleValues.ToText(a[1]) : "second";
            DateTimeOffset time = unit switch
            {
                "millisecond" => DateTimeOffset.FromUnixTimeMilliseconds(ts),
                "microsecond" => DateTimeOffset.UnixEpoch.AddTicks(ts * 10),
                _ => DateTimeOffset.FromUnixTimeSeconds(ts),
            };
            return Rfc3339(time, unit);
        });
        return table;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    private static object? SafeRegex(Func<object> run)
    {
        try
        {
            return run();
        }
        catch (ArgumentException)
        {
            return null;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    // EMQX: substr(Str, Start) and substr(Str, Start, Length), Start from 0.
    private static string? Substring(object?[] a)
    {
        if (a[0] is null || RuleValues.ToNumber(a[1]) is not long start)
        {
            return null;
        }

        string s = RuleValues.ToText(a[0]);
        int from = (int)Math.Clamp(start, 0, s.Length);
        int length = s.Length - from;
        if (a.Length > 2)
        {
            if (RuleValues.ToNumber(a[2]) is not long l)
            {
                return null;
            }

            length = (int)Math.Clamp(l, 0, length);
        }

        return s.Substring(from, length);
    }

    private static long Timestamp(DateTimeOffset now, string unit) => unit switch
    {
        "millisecond" => now.ToUnixTimeMilliseconds(),
        "microsecond" => (now - DateTimeOffset.UnixEpoch).Ticks / 10,
        "nanosecond" => (now - DateTimeOffset.UnixEpoch).Ticks * 100,
        _ => now.ToUnixTimeSeconds(),
    };

    private static string Rfc3339(DateTimeOffset time, string unit) => unit switch
    {
        "millisecond" => time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
        "microsecond" => time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture),
        _ => time.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
    };
}
