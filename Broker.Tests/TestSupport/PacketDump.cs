using System.Buffers;
using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Broker.Tests.TestSupport;

/// <summary>
/// A canonical text form of a decoded (or to-be-encoded) packet: every public property, recursively, with byte
/// fields and sequence slices as hex. Two packets are "the same" when their dumps are equal, which is what the
/// split, round-trip and fuzz tests compare, and a failing assertion shows the whole packet.
/// </summary>
public static class PacketDump
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> s_properties = new();

    public static string Of(object? value)
    {
        var builder = new StringBuilder();
        Append(builder, value);
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                builder.Append("null");
                return;
            case string s:
                builder.Append('"').Append(s).Append('"');
                return;
            case byte[] bytes:
                builder.Append("0x").Append(Convert.ToHexString(bytes));
                return;
            case ReadOnlySequence<byte> sequence:
                builder.Append("0x").Append(Convert.ToHexString(sequence.ToArray()));
                return;
            case Enum e:
                builder.Append(e.GetType().Name).Append('(').Append(Convert.ToInt64(e, CultureInfo.InvariantCulture).ToString("X2", CultureInfo.InvariantCulture)).Append(')');
                return;
            case IFormattable formattable:
                builder.Append(formattable.ToString(null, CultureInfo.InvariantCulture));
                return;
            case bool b:
                builder.Append(b ? "true" : "false");
                return;
            case IEnumerable items:
                builder.Append('[');
                bool first = true;
                foreach (object? item in items)
                {
                    builder.Append(first ? "" : ", ");
                    Append(builder, item);
                    first = false;
                }

                builder.Append(']');
                return;
        }

        Type type = value.GetType();
        builder.Append(type.Name).Append(" { ");
        foreach (PropertyInfo property in s_properties.GetOrAdd(type, GetDumpedProperties))
        {
            builder.Append(property.Name).Append(" = ");
            Append(builder, property.GetValue(value));
            builder.Append("; ");
        }

        builder.Append('}');
    }

    private static PropertyInfo[] GetDumpedProperties(Type type)
        => [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).OrderBy(p => p.MetadataToken)];
}
