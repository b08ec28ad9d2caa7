using System.Buffers;
using System.Globalization;
using Broker.Core.Codec;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Fuzz;

/// <summary>
/// A structured mutational fuzzer over the decoder, seeded from the committed corpus (valid packets of every type and
/// version) and deterministic per seed. Every input must decode or throw <see cref="ProtocolException"/>, for every
/// protocol version and under a random maximum packet size, and decoding must always move forward (no hang). A bounded
/// budget runs in CI; <c>BROKER_FUZZ_ITERATIONS</c> and <c>BROKER_FUZZ_SEED</c> make longer or other runs, and a failing
/// input is written to the test's work directory, to be committed under <c>Fuzz/regressions</c> with its fix.
/// </summary>
[TestFixture]
public sealed class CodecCorpusFuzzTests
{
    private static readonly ProtocolVersion[] s_versions = [ProtocolVersion.V310, ProtocolVersion.V311, ProtocolVersion.V500];

    private static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("BROKER_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 40_000;

    public static IEnumerable<int> Seeds()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("BROKER_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out int seed))
        {
            yield return seed;
            yield break;
        }

        yield return 101;
        yield return 202;
        yield return 303;
    }

    public static IEnumerable<CorpusEntry> Regressions => FuzzCorpus.Regressions;

    [Test]
    public void Corpus_HoldsAValidPacketOfEveryTypeAndVersion()
    {
        Assert.That(FuzzCorpus.Seeds, Has.Count.GreaterThanOrEqualTo(40));
        var types = new HashSet<(PacketType, ProtocolVersion)>();
        foreach (CorpusEntry entry in FuzzCorpus.Seeds)
        {
            Assert.That(PacketDecoder.TryReadFrame(new ReadOnlySequence<byte>(entry.Bytes), CodecDriver.NoLimit, out FixedHeader header), Is.True, entry.Name);
            Assert.That(() => CodecDriver.DecodeSingle(entry.Bytes, entry.Version), Throws.Nothing, entry.Name);
            types.Add((header.Type, entry.Version == ProtocolVersion.V310 ? ProtocolVersion.V311 : entry.Version));
        }

        foreach (PacketType type in Enum.GetValues<PacketType>().Where(t => t is not (PacketType.Auth or 0)))
        {
            Assert.That(types, Does.Contain((type, ProtocolVersion.V311)).Or.Contain((type, ProtocolVersion.V500)), $"a seed of {type}");
        }
    }

    [TestCaseSource(nameof(Seeds))]
    public void MutatedCorpus_DecodesOrThrowsProtocolException(int seed)
    {
        var random = new Random(seed);
        var mutator = new Mutator(random, FuzzCorpus.Seeds);
        int decoded = 0, rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            CorpusEntry entry = FuzzCorpus.Seeds[random.Next(FuzzCorpus.Seeds.Count)];
            byte[] input = mutator.Mutate(entry.Bytes);
            ProtocolVersion version = random.Next(4) == 0 ? s_versions[random.Next(s_versions.Length)] : entry.Version;
            int maximum = random.Next(10) == 0 ? random.Next(1, input.Length + 8) : CodecDriver.NoLimit;
            switch (DecodeAll(input, version, maximum, $"seed {seed} iteration {i} from {entry.Name}"))
            {
                case Outcome.Decoded: decoded++; break;
                case Outcome.Rejected: rejected++; break;
            }
        }

        // Both outcomes, in quantity: a fuzzer stuck on the framing check proves little.
        Assert.That(decoded, Is.GreaterThan(Iterations / 20), "inputs that decoded");
        Assert.That(rejected, Is.GreaterThan(Iterations / 20), "inputs that were rejected");
    }

    [TestCaseSource(nameof(Regressions))]
    public void Regression_DecodesOrThrowsProtocolException(CorpusEntry entry)
    {
        foreach (ProtocolVersion version in s_versions)
        {
            DecodeAll(entry.Bytes, version, CodecDriver.NoLimit, entry.Name);
        }
    }

    private enum Outcome
    {
        NeedMore,
        Decoded,
        Rejected,
    }

    /// <summary>Decodes as the connection loop does, contiguous and from 1-byte segments.</summary>
    private static Outcome DecodeAll(byte[] input, ProtocolVersion version, int maximum, string where)
    {
        Outcome contiguous = DecodeAll(new ReadOnlySequence<byte>(input), version, maximum, input, where);
        Outcome segmented = DecodeAll(Sequences.Segmented(input), version, maximum, input, where);
        if (contiguous != segmented)
        {
            Fail(input, where, $"{contiguous} contiguous but {segmented} from 1-byte segments");
        }

        return contiguous;
    }

    private static Outcome DecodeAll(ReadOnlySequence<byte> buffer, ProtocolVersion version, int maximum, byte[] input, string where)
    {
        Outcome outcome = Outcome.NeedMore;
        try
        {
            while (PacketDecoder.TryReadFrame(buffer, maximum, out FixedHeader header))
            {
                if (header.PacketLength <= 0 || header.PacketLength > buffer.Length)
                {
                    Fail(input, where, $"a frame of {header.PacketLength} bytes from {buffer.Length}: no progress or out of bounds");
                }

                PacketDecoder.Decode(header, buffer.Slice(header.HeaderLength, header.RemainingLength), version);
                buffer = buffer.Slice(header.PacketLength);
                outcome = Outcome.Decoded;
            }

            return outcome;
        }
        catch (ProtocolException)
        {
            return Outcome.Rejected;
        }
        catch (Exception e) when (e is not AssertionException)
        {
            Fail(input, where, $"{e.GetType().Name} instead of ProtocolException: {e}");
            throw;
        }
    }

    private static void Fail(byte[] input, string where, string what)
    {
        string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "fuzz-failure-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(input))[..12] + ".bin");
        File.WriteAllBytes(path, input);
        Assert.Fail($"{where}: {what}\ninput {Hex.Format(input)}\nsaved as {path}: commit it under Broker.Tests/Fuzz/regressions/ (name.v5.bin, .v311.bin or .v310.bin) with the fix.");
    }

    /// <summary>Writes the golden vectors into <c>Fuzz/corpus</c>; run by hand when vectors are added.</summary>
    [Test, Explicit("writes the seed corpus into the source tree")]
    public void WriteSeedCorpus()
    {
        string folder = FuzzCorpus.SourceFolder("corpus");
        Directory.CreateDirectory(folder);
        foreach ((string fileName, byte[] bytes) in FuzzCorpus.SeedsFromVectors())
        {
            File.WriteAllBytes(Path.Combine(folder, fileName), bytes);
        }
    }
}
