using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Broker.Core.Metrics;
using Broker.Tests.TestSupport;

namespace Broker.Tests.EndToEnd;

/// <summary>
/// The broker against the Eclipse Mosquitto command line clients, run as processes. Skipped when
/// <c>mosquitto_pub</c> and <c>mosquitto_sub</c> are not on PATH (<c>.ci/run</c> installs them where it can).
/// </summary>
[TestFixture]
[CancelAfter(20_000)]
[NonParallelizable]
public sealed class MosquittoClientsTests
{
    private TcpBroker _broker = null!;
    private readonly List<MosquittoProcess> _processes = [];

    [OneTimeSetUp]
    public void RequireMosquittoClients()
    {
        if (FindOnPath("mosquitto_pub") is null || FindOnPath("mosquitto_sub") is null)
        {
            Assert.Ignore("mosquitto_pub/mosquitto_sub are not on PATH (Debian/Ubuntu: apt-get install mosquitto-clients).");
        }
    }

    [SetUp]
    public async Task SetUp() => _broker = await TcpBroker.StartAsync();

    [TearDown]
    public async Task TearDown()
    {
        foreach (MosquittoProcess process in _processes)
        {
            process.Dispose();
        }

        _processes.Clear();
        await _broker.DisposeAsync();
    }

    [TestCase(0, "mqttv311")]
    [TestCase(1, "mqttv311")]
    [TestCase(2, "mqttv311")]
    [TestCase(0, "mqttv5")]
    [TestCase(1, "mqttv5")]
    [TestCase(2, "mqttv5")]
    public async Task PubToSub_AtEachQoS(int qos, string version, CancellationToken cancellationToken)
    {
        string q = qos.ToString(CultureInfo.InvariantCulture);
        MosquittoProcess sub = Sub("-V", version, "-i", "msub", "-q", "2", "-t", "m/+", "-C", "1", "-F", "%q|%r|%t|%p");
        await Poll.UntilAsync(() => _broker.HasSubscriptions("msub"), cancellationToken);

        MosquittoProcess pub = Pub("-V", version, "-i", "mpub", "-q", q, "-t", "m/qos", "-m", "hello mosquitto, qos " + q);
        await pub.ExpectExitAsync(cancellationToken);

        Assert.That(await sub.ReadLineAsync(cancellationToken), Is.EqualTo($"{q}|0|m/qos|hello mosquitto, qos {q}"));
        await sub.ExpectExitAsync(cancellationToken);
    }

    [Test]
    public async Task Retained_ReachesALaterSubscriber_AndANullMessageClearsIt(CancellationToken cancellationToken)
    {
        await Pub("-i", "rpub", "-q", "1", "-r", "-t", "ret/t", "-m", "kept").ExpectExitAsync(cancellationToken);
        await Poll.UntilAsync(() => _broker.Broker.Retained.Count == 1, cancellationToken);

        MosquittoProcess sub = Sub("-i", "rsub", "-q", "1", "-t", "ret/#", "-C", "1", "-F", "%q|%r|%t|%p");
        Assert.That(await sub.ReadLineAsync(cancellationToken), Is.EqualTo("1|1|ret/t|kept"));
        await sub.ExpectExitAsync(cancellationToken);

        await Pub("-i", "rpub", "-q", "1", "-r", "-t", "ret/t", "-n").ExpectExitAsync(cancellationToken);
        await Poll.UntilAsync(() => _broker.Broker.Retained.Count == 0, cancellationToken);

        // A retained message would arrive on SUBSCRIBE, before a message published afterwards.
        MosquittoProcess later = Sub("-i", "rsub2", "-q", "1", "-t", "ret/#", "-C", "1", "-F", "%r|%t|%p");
        await Poll.UntilAsync(() => _broker.HasSubscriptions("rsub2"), cancellationToken);
        await Pub("-i", "rpub", "-q", "1", "-t", "ret/marker", "-m", "after").ExpectExitAsync(cancellationToken);
        Assert.That(await later.ReadLineAsync(cancellationToken), Is.EqualTo("0|ret/marker|after"));
    }

    [Test]
    public async Task Will_IsPublished_WhenTheClientIsKilled(CancellationToken cancellationToken)
    {
        MosquittoProcess watcher = Sub("-i", "watcher", "-q", "1", "-t", "will/#", "-C", "1", "-F", "%q|%t|%p");
        MosquittoProcess doomed = Sub("-i", "doomed", "-t", "idle", "--will-topic", "will/doomed", "--will-payload", "bye", "--will-qos", "1");
        await Poll.UntilAsync(() => _broker.HasSubscriptions("watcher") && _broker.HasSubscriptions("doomed"), cancellationToken);

        // SIGKILL: the kernel closes the socket, no DISCONNECT is sent.
        doomed.Kill();

        Assert.That(await watcher.ReadLineAsync(cancellationToken), Is.EqualTo("1|will/doomed|bye"));
    }

    [Test]
    public async Task SharedSubscription_SplitsMessagesBetweenTwoSubscribers(CancellationToken cancellationToken)
    {
        const int Count = 10;
        MosquittoProcess a = Sub("-i", "share-a", "-q", "1", "-t", "$share/g/sh/t", "-t", "sh/marker", "-F", "%t|%p");
        MosquittoProcess b = Sub("-i", "share-b", "-q", "1", "-t", "$share/g/sh/t", "-t", "sh/marker", "-F", "%t|%p");
        await Poll.UntilAsync(() => _broker.HasSubscriptions("share-a", 2) && _broker.HasSubscriptions("share-b", 2), cancellationToken);
        long pubAcksBefore = _broker.Broker.Counters.Get(CounterId.PacketsPubackSent);

        MosquittoProcess pub = Pub("-i", "spub", "-q", "1", "-t", "sh/t", "-l");
        await pub.WriteLinesAsync(Enumerable.Range(0, Count).Select(i => i.ToString(CultureInfo.InvariantCulture)));
        await pub.ExpectExitAsync(cancellationToken);
        // Every PUBACK written means its message was routed; only then may the marker follow it.
        await Poll.UntilAsync(() => _broker.Broker.Counters.Get(CounterId.PacketsPubackSent) - pubAcksBefore >= Count, cancellationToken);
        await Pub("-i", "spub2", "-q", "1", "-t", "sh/marker", "-m", "end").ExpectExitAsync(cancellationToken);

        List<string> toA = await a.ReadUntilAsync("sh/marker|end", cancellationToken);
        List<string> toB = await b.ReadUntilAsync("sh/marker|end", cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(toA.Concat(toB), Is.EquivalentTo(Enumerable.Range(0, Count).Select(i => "sh/t|" + i.ToString(CultureInfo.InvariantCulture))));
            Assert.That(toA.Intersect(toB), Is.Empty);
        }
    }

    private MosquittoProcess Pub(params string[] arguments) => Start("mosquitto_pub", arguments);

    private MosquittoProcess Sub(params string[] arguments) => Start("mosquitto_sub", arguments);

    private MosquittoProcess Start(string program, string[] arguments)
    {
        var process = new MosquittoProcess(program, ["-h", TcpBroker.Host, "-p", _broker.Port.ToString(CultureInfo.InvariantCulture), .. arguments]);
        _processes.Add(process);
        return process;
    }

    private static string? FindOnPath(string program)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>One mosquitto_pub/mosquitto_sub process; its stdout lines in a channel, stderr kept for failure messages.</summary>
    private sealed class MosquittoProcess : IDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly List<string> _errors = [];

        public MosquittoProcess(string program, IEnumerable<string> arguments)
        {
            var start = new ProcessStartInfo(program)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            CommandLine = program + " " + string.Join(' ', start.ArgumentList);
            _process = new Process { StartInfo = start };
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    _lines.Writer.TryComplete();
                }
                else
                {
                    _lines.Writer.TryWrite(e.Data);
                }
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_errors)
                    {
                        _errors.Add(e.Data);
                    }
                }
            };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string CommandLine { get; }

        private string Errors
        {
            get
            {
                lock (_errors)
                {
                    return string.Join(" / ", _errors);
                }
            }
        }

        public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await _lines.Reader.ReadAsync(cancellationToken);
            }
            catch (ChannelClosedException)
            {
                throw new AssertionException($"{CommandLine} ended without output; stderr: {Errors}");
            }
        }

        /// <summary>Lines before <paramref name="marker"/>.</summary>
        public async Task<List<string>> ReadUntilAsync(string marker, CancellationToken cancellationToken)
        {
            var lines = new List<string>();
            for (string line = await ReadLineAsync(cancellationToken); line != marker; line = await ReadLineAsync(cancellationToken))
            {
                lines.Add(line);
            }

            return lines;
        }

        public async Task WriteLinesAsync(IEnumerable<string> lines)
        {
            foreach (string line in lines)
            {
                await _process.StandardInput.WriteLineAsync(line);
            }

            _process.StandardInput.Close();
        }

        public async Task ExpectExitAsync(CancellationToken cancellationToken)
        {
            await _process.WaitForExitAsync(cancellationToken);
            Assert.That(_process.ExitCode, Is.Zero, $"{CommandLine} exit code; stderr: {Errors}");
        }

        public void Kill() => _process.Kill();

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill();
                    _process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Never started or already reaped.
            }

            _process.Dispose();
        }
    }
}
