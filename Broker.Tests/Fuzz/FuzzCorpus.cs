using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Fuzz;

/// <summary>One input of the committed corpus: bytes and the protocol version they are decoded as.</summary>
public sealed record CorpusEntry(string Name, ProtocolVersion Version, byte[] Bytes)
{
    public override string ToString() => Name;
}

/// <summary>
/// The fuzz corpus committed in <c>Broker.Tests/Fuzz/corpus</c> (valid packets of every type and version, seeds) and
/// <c>Broker.Tests/Fuzz/regressions</c> (inputs that once broke something; each must decode or fail cleanly for good).
/// File names end in <c>.v310.bin</c>, <c>.v311.bin</c> or <c>.v5.bin</c>: the version the bytes are decoded as.
/// </summary>
public static class FuzzCorpus
{
    public static IReadOnlyList<CorpusEntry> Seeds { get; } = Load("corpus");

    public static IReadOnlyList<CorpusEntry> Regressions { get; } = Load("regressions");

    public static string FileName(string name, ProtocolVersion version)
    {
        var chars = name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        string stem = string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return stem + Suffix(version);
    }

    private static string Suffix(ProtocolVersion version) => version switch
    {
        ProtocolVersion.V310 => ".v310.bin",
        ProtocolVersion.V311 => ".v311.bin",
        _ => ".v5.bin",
    };

    private static List<CorpusEntry> Load(string folder)
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "Fuzz", folder);
        var entries = new List<CorpusEntry>();
        if (!Directory.Exists(directory))
        {
            return entries;
        }

        foreach (string path in Directory.GetFiles(directory, "*.bin").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            ProtocolVersion version = name.EndsWith(".v310.bin", StringComparison.Ordinal) ? ProtocolVersion.V310
                : name.EndsWith(".v311.bin", StringComparison.Ordinal) ? ProtocolVersion.V311
                : ProtocolVersion.V500;
            entries.Add(new CorpusEntry(name, version, File.ReadAllBytes(path)));
        }

        return entries;
    }

    /// <summary>The source folder of a corpus (to write new seeds or regressions into), from the test binaries' folder.</summary>
    public static string SourceFolder(string folder)
        => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Fuzz", folder));

    /// <summary>Every golden vector as a seed.</summary>
    public static IEnumerable<(string FileName, byte[] Bytes)> SeedsFromVectors()
        => PacketVectors.All.Select(v => (FileName(v.Name, v.Version), v.Bytes));
}
