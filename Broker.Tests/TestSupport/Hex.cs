using System.Buffers;
using System.Text;

namespace Broker.Tests.TestSupport;

/// <summary>
/// Readable byte literals for vectors: hex pairs separated by spaces, with 'quoted' runs of ASCII, so a row reads
/// like the spec's figures: <c>"00 04 'MQTT' 04 CE 00 0A"</c>.
/// </summary>
public static class Hex
{
    public static byte[] Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = new List<byte>(text.Length / 2);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '\'')
            {
                int end = text.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new FormatException($"Unterminated quote at {i} in \"{text}\".");
                }

                bytes.AddRange(Encoding.ASCII.GetBytes(text[(i + 1)..end]));
                i = end + 1;
                continue;
            }

            if (i + 1 >= text.Length || !Uri.IsHexDigit(c) || !Uri.IsHexDigit(text[i + 1]))
            {
                throw new FormatException($"Expected a hex pair at {i} in \"{text}\".");
            }

            bytes.Add(Convert.ToByte(text.Substring(i, 2), 16));
            i += 2;
        }

        return [.. bytes];
    }

    public static string Format(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    public static string Format(in ReadOnlySequence<byte> bytes) => Convert.ToHexString(bytes.ToArray());
}
