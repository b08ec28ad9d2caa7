using System.Buffers;
using System.Text;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Codec;

/// <summary>
/// Deterministic fuzzing (the Garnet.fuzz idea): random bytes and mutations of every golden vector, for every
/// version. Decoding must either succeed or throw <see cref="ProtocolException"/>; anything else fails with the input
/// in hex. Each input is also decoded from 1-byte segments, which must give the same outcome, and every packet that
/// decodes must survive the PUBLISH property slow path and a re-encode/decode round trip.
/// </summary>
[TestFixture]
public sealed class CodecFuzzTests
{
    private const int RandomInputsPerSeed = 6_000;
    private const int MutationsPerVector = 1_500;

    private static readonly ProtocolVersion[] s_versions = [ProtocolVersion.V310, ProtocolVersion.V311, ProtocolVersion.V500];

    public static IEnumerable<TestCaseData> Vectors => PacketVectors.All.Select((v, i) => new TestCaseData(v, i + 1).SetArgDisplayNames(v.Name));

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    public void RandomBytes_DecodeOrThrowProtocolException(int seed)
    {
        var random = new Random(seed);
        var stats = new Stats();
        for (int i = 0; i < RandomInputsPerSeed; i++)
        {
            byte[] input = RandomInput(random);
            ProtocolVersion version = s_versions[i % s_versions.Length];
            int maximum = random.Next(10) == 0 ? random.Next(1, 64) : CodecDriver.NoLimit;
            Check(input, version, maximum, stats, $"seed {seed} input {i}");
        }

        Assert.That(stats.Decoded, Is.Positive, "random inputs should sometimes decode");
        Assert.That(stats.Rejected, Is.Positive);
    }

    [TestCaseSource(nameof(Vectors))]
    public void MutatedGoldenVector_DecodesOrThrowsProtocolException(PacketVector vector, int seed)
    {
        var random = new Random(seed);
        var stats = new Stats();
        var mutator = new Fuzz.Mutator(random, []);
        for (int i = 0; i < MutationsPerVector; i++)
        {
            byte[] input = mutator.Mutate(vector.Bytes);
            ProtocolVersion version = i % 4 == 3 ? s_versions[random.Next(s_versions.Length)] : vector.Version;
            int maximum = random.Next(20) == 0 ? random.Next(1, vector.Bytes.Length + 4) : CodecDriver.NoLimit;
            Check(input, version, maximum, stats, $"{vector.Name} mutation {i}");
        }

        // A mutation fuzzer that only ever hits the first check proves little: require both outcomes.
        Assert.That(stats.Decoded, Is.GreaterThan(MutationsPerVector / 50), "mutations that still decode");
        Assert.That(stats.Rejected, Is.GreaterThan(MutationsPerVector / 50), "mutations that are rejected");
    }

    [TestCase(11)]
    [TestCase(12)]
    [TestCase(13)]
    public void RandomPropertyBlocks_DecodeOrThrowProtocolException(int seed)
    {
        // Byte mutations rarely build a well-typed property, so generate blocks from the grammar: real identifiers,
        // unknown ones, and multi-byte identifiers whose low byte aliases a real one (0x81 0x02 is 257, not 0x01),
        // each followed by a value of the aliased type, valid or not.
        var random = new Random(seed);
        var stats = new Stats();
        for (int i = 0; i < RandomInputsPerSeed; i++)
        {
            PropertyContext context = PacketBuilder.Contexts[random.Next(PacketBuilder.Contexts.Length)];
            byte[] input = PacketBuilder.WithProperties(context, RandomProperties(random));
            Check(input, ProtocolVersion.V500, CodecDriver.NoLimit, stats, $"seed {seed} block {i} in {context}");
        }

        Assert.That(stats.Decoded, Is.GreaterThan(RandomInputsPerSeed / 20), "blocks that decode");
        Assert.That(stats.Rejected, Is.GreaterThan(RandomInputsPerSeed / 20), "blocks that are rejected");
    }

    private static void Check(byte[] input, ProtocolVersion version, int maximum, Stats stats, string where)
    {
        string contiguous = Outcome(new ReadOnlySequence<byte>(input), version, maximum, input, where);
        string segmented = Outcome(Sequences.Segmented(input), version, maximum, input, where);
        if (contiguous != segmented)
        {
            Assert.Fail($"{where}: {version} input {Hex.Format(input)} decodes differently from 1-byte segments:\n{contiguous}\nvs\n{segmented}");
        }

        if (contiguous.Contains("error ", StringComparison.Ordinal))
        {
            stats.Rejected++;
        }
        else if (contiguous.Length > "need more 0".Length + 2)
        {
            stats.Decoded++;
        }
    }

    /// <summary>What the connection loop would see: the packets decoded, then "need more" or the error's reason code.</summary>
    private static string Outcome(ReadOnlySequence<byte> buffer, ProtocolVersion version, int maximum, byte[] input, string where)
    {
        var outcome = new StringBuilder();
        try
        {
            while (PacketDecoder.TryReadFrame(buffer, maximum, out FixedHeader header))
            {
                if (header.PacketLength > buffer.Length || header.PacketLength > maximum)
                {
                    Assert.Fail($"{where}: frame of {header.PacketLength} bytes from {buffer.Length} available, limit {maximum}: {Hex.Format(input)}");
                }

                object packet = PacketDecoder.Decode(header, buffer.Slice(header.HeaderLength, header.RemainingLength), version);
                CheckDecoded(packet, version, input, where);
                outcome.Append(CodecDriver.Dump(packet)).Append('\n');
                buffer = buffer.Slice(header.PacketLength);
            }

            outcome.Append("need more ").Append(buffer.Length);
        }
        catch (ProtocolException e)
        {
            outcome.Append("error ").Append(((byte)e.ReasonCode).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is not AssertionException)
        {
            Assert.Fail($"{where}: {e.GetType().Name} instead of ProtocolException for {version} input {Hex.Format(input)}\n{e}");
        }

        return outcome.ToString();
    }

    /// <summary>A decoded packet must be usable: the PUBLISH slow path agrees with the fast one, and it re-encodes to itself.</summary>
    private static void CheckDecoded(object packet, ProtocolVersion version, byte[] input, string where)
    {
        try
        {
            if (packet is PublishPacket publish)
            {
                MqttProperties? properties = PacketDecoder.GetProperties(publish.Properties);
                int[] ids = PacketDecoder.GetSubscriptionIdentifiers(publish.Properties);
                if (ids.Length != publish.Properties.SubscriptionIdentifierCount || (properties?.SubscriptionIdentifiers?.Count ?? 0) != ids.Length)
                {
                    Assert.Fail($"{where}: subscription identifier counts disagree for {Hex.Format(input)}");
                }
            }

            if (!IsRepresentable(packet, version))
            {
                return;
            }

            object model = CodecDriver.Normalize(packet);
            byte[] reencoded = CodecDriver.Encode(model, version);
            object again = CodecDriver.DecodeSingle(reencoded, version);
            if (CodecDriver.Dump(again) != PacketDump.Of(model))
            {
                Assert.Fail($"{where}: re-encoding changed the packet decoded from {Hex.Format(input)}:\n{PacketDump.Of(model)}\nvs\n{CodecDriver.Dump(again)}");
            }
        }
        catch (ProtocolException e)
        {
            Assert.Fail($"{where}: a packet the decoder accepted was rejected later ({e.Message}); input {Hex.Format(input)}\n{e}");
        }
    }

    /// <summary>3.1.1 CONNACK and SUBACK codes outside the 3.1.1 set are mapped on encode, so they cannot round-trip.</summary>
    private static bool IsRepresentable(object packet, ProtocolVersion version) => version == ProtocolVersion.V500 || packet switch
    {
        ConnAckPacket p => p.ReturnCode <= 5,
        SubAckPacket p => p.ReasonCodes.TrueForAll(c => c is ReasonCode.GrantedQoS0 or ReasonCode.GrantedQoS1 or ReasonCode.GrantedQoS2 or ReasonCode.UnspecifiedError),
        _ => true,
    };

    private static byte[] RandomInput(Random random)
    {
        int length = random.Next(4) == 0 ? random.Next(0, 8) : random.Next(0, 64);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (length >= 2 && random.Next(2) == 0)
        {
            // Half the inputs get a plausible fixed header so the body parsers are reached, not just the framing checks.
            int type = random.Next(1, 16);
            int flags = type switch { 3 => random.Next(16), 6 or 8 or 10 => 2, _ => 0 };
            bytes[0] = (byte)((type << 4) | flags);
            bytes[1] = (byte)Math.Min(length - 2, 127);
        }

        return bytes;
    }

    private static byte[] RandomProperties(Random random)
    {
        var block = new List<byte>();
        int count = random.Next(0, 5);
        for (int p = 0; p < count; p++)
        {
            PropertyId property = s_propertyTypes.Keys.ElementAt(random.Next(s_propertyTypes.Count));
            int identifier = random.Next(10) switch
            {
                0 => random.Next(0, 128),                             // probably unknown
                1 => (int)property + (128 * random.Next(1, 4)),       // aliases a real identifier in its low byte
                _ => (int)property,
            };
            var vbi = new byte[4];
            block.AddRange(vbi.AsSpan(0, VariableByteInteger.Write(vbi, identifier)).ToArray());
            block.AddRange(RandomValue(s_propertyTypes[property], random));
        }

        return [.. block];
    }

    private static byte[] RandomValue(char type, Random random)
    {
        if (random.Next(20) == 0)
        {
            var noise = new byte[random.Next(0, 4)];
            random.NextBytes(noise);
            return noise;
        }

        return type switch
        {
            'b' => [(byte)(random.Next(4) == 0 ? random.Next(256) : random.Next(2))],
            '2' => [0, (byte)random.Next(3)],
            '4' => [0, 0, (byte)random.Next(2), (byte)random.Next(256)],
            'v' => random.Next(8) == 0 ? [0x80, 0x00] : random.Next(6) == 0 ? [0x00] : [0x81, 0x01],
            's' => RandomString(random),
            'd' => [0, 2, (byte)random.Next(256), (byte)random.Next(256)],
            _ => [.. RandomString(random), .. RandomString(random)],
        };
    }

    private static byte[] RandomString(Random random) => random.Next(8) switch
    {
        0 => [0x00, 0x02, 0xC0, 0xAF],       // overlong
        1 => [0x00, 0x03, 0xED, 0xA0, 0x80], // surrogate half
        2 => [0x00, 0x01, 0x00],             // U+0000
        3 => [0x00, 0x00],
        _ => [0x00, 0x03, (byte)'a', (byte)'/', (byte)'b'],
    };

    /// <summary>The data type of each property [MQTT-2.2.2.2]: b byte, 2/4 integers, v VBI, s string, d binary, p string pair.</summary>
    private static readonly Dictionary<PropertyId, char> s_propertyTypes = new()
    {
        [PropertyId.PayloadFormatIndicator] = 'b', [PropertyId.MessageExpiryInterval] = '4', [PropertyId.ContentType] = 's',
        [PropertyId.ResponseTopic] = 's', [PropertyId.CorrelationData] = 'd', [PropertyId.SubscriptionIdentifier] = 'v',
        [PropertyId.SessionExpiryInterval] = '4', [PropertyId.AssignedClientIdentifier] = 's', [PropertyId.ServerKeepAlive] = '2',
        [PropertyId.AuthenticationMethod] = 's', [PropertyId.AuthenticationData] = 'd', [PropertyId.RequestProblemInformation] = 'b',
        [PropertyId.WillDelayInterval] = '4', [PropertyId.RequestResponseInformation] = 'b', [PropertyId.ResponseInformation] = 's',
        [PropertyId.ServerReference] = 's', [PropertyId.ReasonString] = 's', [PropertyId.ReceiveMaximum] = '2',
        [PropertyId.TopicAliasMaximum] = '2', [PropertyId.TopicAlias] = '2', [PropertyId.MaximumQoS] = 'b',
        [PropertyId.RetainAvailable] = 'b', [PropertyId.UserProperty] = 'p', [PropertyId.MaximumPacketSize] = '4',
        [PropertyId.WildcardSubscriptionAvailable] = 'b', [PropertyId.SubscriptionIdentifierAvailable] = 'b', [PropertyId.SharedSubscriptionAvailable] = 'b',
    };

    private sealed class Stats
    {
        public int Decoded { get; set; }

        public int Rejected { get; set; }
    }
}
