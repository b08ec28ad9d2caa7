using Broker.Tests.TestSupport;

namespace Broker.Tests.Fuzz;

/// <summary>
/// Structured mutations of valid MQTT packets, seeded: bit flips, bytes of interest, inserts and deletes, truncation,
/// duplicated chunks, two-byte length fields nudged, remaining lengths replaced (too long, too short, five bytes, not
/// minimal), string lengths set to 0xFFFF, packet type and flags swapped (so a body meets another type's parser),
/// property garbage spliced in, and splices of two packets. Half the results are re-framed with their true remaining
/// length so that the mutation reaches the body parsers rather than the framing check.
/// </summary>
internal sealed class Mutator(Random random, IReadOnlyList<CorpusEntry> corpus)
{
    private static readonly byte[] s_interesting = [0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xC0, 0xED, 0xF4, 0xFF, 0x0B, 0x26, 0x11, 0x23, 0x24, 0x27];

    public byte[] Mutate(byte[] original)
    {
        var bytes = new List<byte>(original);
        int mutations = random.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(14))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = s_interesting[random.Next(s_interesting.Length)];
                    break;
                case 2:
                    bytes.Insert(random.Next(bytes.Count + 1), (byte)random.Next(256));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, random.Next(1, Math.Min(4, bytes.Count - at) + 1));
                    break;
                case 4:
                    int keep = random.Next(bytes.Count + 1);
                    bytes.RemoveRange(keep, bytes.Count - keep);
                    break;
                case 5 when bytes.Count > 0:
                    int count = random.Next(1, Math.Min(16, bytes.Count - at) + 1);
                    bytes.InsertRange(at, bytes.GetRange(at, count));
                    break;
                case 6 when bytes.Count >= 2:
                    int position = Math.Min(at, bytes.Count - 2);
                    int value = (bytes[position] << 8) | bytes[position + 1];
                    value = random.Next(4) switch { 0 => value + 1, 1 => value - 1, 2 => 0xFFFF, _ => value + 256 };
                    bytes[position] = (byte)(value >> 8);
                    bytes[position + 1] = (byte)value;
                    break;
                case 7 when bytes.Count >= 2:
                    ReplaceRemainingLength(bytes);
                    break;
                case 8 when bytes.Count >= 1:
                    // Another type with its own legal flags, or any flags at all.
                    int type = random.Next(16);
                    int flags = random.Next(3) == 0 ? random.Next(16) : type switch { 3 => random.Next(6), 6 or 8 or 10 => 2, _ => 0 };
                    bytes[0] = (byte)((type << 4) | flags);
                    break;
                case 9:
                    bytes.InsertRange(random.Next(bytes.Count + 1), PropertyGarbage());
                    break;
                case 10 when corpus.Count > 0:
                    byte[] other = corpus[random.Next(corpus.Count)].Bytes;
                    int cut = random.Next(bytes.Count + 1);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    bytes.AddRange(other.AsSpan(random.Next(other.Length + 1)).ToArray());
                    break;
                case 11 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 12 when bytes.Count > 4:
                    // A whole packet appended: streams of several packets, the second one possibly mutated next.
                    bytes.AddRange(corpus.Count > 0 ? corpus[random.Next(corpus.Count)].Bytes : []);
                    break;
                case 13 when bytes.Count > 1:
                    int other2 = random.Next(bytes.Count);
                    (bytes[at], bytes[other2]) = (bytes[other2], bytes[at]);
                    break;
            }
        }

        byte[] mutated = [.. bytes];
        if (mutated.Length > 0 && random.Next(2) == 0 && TryHeaderLength(mutated, out int headerLength))
        {
            return PacketBuilder.Frame(mutated[0], mutated[headerLength..]);
        }

        return mutated;
    }

    /// <summary>A packet of type 0 (reserved): malformed wherever it is framed.</summary>
    public static readonly byte[] Terminator = [0x00, 0x00];

    private void ReplaceRemainingLength(List<byte> bytes)
    {
        if (!TryHeaderLength([.. bytes], out int headerLength))
        {
            headerLength = 2;
        }

        byte[] length = random.Next(6) switch
        {
            0 => [0xFF, 0xFF, 0xFF, 0xFF, 0x01],          // a fifth byte [MQTT-1.5.5]
            1 => [0xFF, 0xFF, 0xFF, 0x7F],                // 268,435,455: above any maximum packet size
            2 => [0x80, 0x80, 0x00],                      // not minimally encoded [MQTT-1.5.5-1]
            3 => [(byte)random.Next(0, 128)],             // any short length
            4 => [0x80],                                  // a continuation bit and nothing after it
            _ => [(byte)(0x80 | random.Next(128)), (byte)random.Next(1, 128)],
        };
        bytes.RemoveRange(1, Math.Min(headerLength - 1, bytes.Count - 1));
        bytes.InsertRange(1, length);
    }

    private byte[] PropertyGarbage()
    {
        byte[] garbage = new byte[random.Next(1, 12)];
        random.NextBytes(garbage);
        if (random.Next(2) == 0)
        {
            // A property length claiming more than the packet holds, or a VBI that never ends.
            garbage[0] = random.Next(2) == 0 ? (byte)0x7F : (byte)0xFF;
        }

        return garbage;
    }

    private static bool TryHeaderLength(byte[] packet, out int headerLength)
    {
        headerLength = 0;
        if (packet.Length < 2)
        {
            return false;
        }

        for (int i = 1; i < Math.Min(5, packet.Length); i++)
        {
            if ((packet[i] & 0x80) == 0)
            {
                headerLength = i + 1;
                return true;
            }
        }

        return false;
    }
}
