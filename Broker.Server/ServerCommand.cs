using System.Net.Sockets;
using Broker.Server.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// The process from command line to exit code: parse, start, wait for the shutdown signal, stop within the
/// shutdown timeout. Separate from Program.cs so tests can run it in-process with their own writers and token.
/// </summary>
internal static class ServerCommand
{
    public const int SuccessExitCode = 0;

    /// <summary>The broker could not start (address in use, data directory not writable).</summary>
    public const int StartFailedExitCode = 1;

    // After the grace period the sockets are aborted, and handlers end at their next read; this bounds that too.
    private static readonly TimeSpan s_abortAllowance = TimeSpan.FromSeconds(5);

    /// <param name="args">The command line.</param>
    /// <param name="output">Where --help and --version go.</param>
    /// <param name="error">Where command-line errors go.</param>
    /// <param name="shutdown">Cancelled on SIGINT/SIGTERM (or by a test).</param>
    /// <param name="loggerFactory">The log sink; null for the console at the configured level.</param>
    /// <param name="started">Called once the listeners are bound (tests read the port from it).</param>
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        TextWriter output,
        TextWriter error,
        CancellationToken shutdown,
        ILoggerFactory? loggerFactory = null,
        Action<BrokerHost>? started = null)
    {
        CommandLineResult command = CommandLine.Parse(args);
        switch (command.Action)
        {
            case CommandLineAction.Help:
                await output.WriteAsync(CommandLine.GetUsage());
                return SuccessExitCode;
            case CommandLineAction.Version:
                await output.WriteLineAsync(CommandLine.GetVersion());
                return SuccessExitCode;
            case CommandLineAction.Error:
                await error.WriteLineAsync("error: " + command.Error);
                return CommandLine.UsageErrorExitCode;
        }

        ServerOptions options = command.Options!;
        if (options.MqttTcp.PreferInlineScheduling)
        {
            EnableInlineSocketCompletions();
        }

        ILoggerFactory? ownedLoggerFactory = null;
        if (loggerFactory is null)
        {
            ownedLoggerFactory = CreateConsoleLoggerFactory(options.LogLevel);
            loggerFactory = ownedLoggerFactory;
        }

        try
        {
            ILogger logger = loggerFactory.CreateLogger("Broker.Server");
            if (command.ConfigFile is not null)
            {
                ServerLog.ConfigLoaded(logger, Path.GetFullPath(command.ConfigFile));
            }

            BrokerHost created;
            try
            {
                created = new BrokerHost(options, loggerFactory);
            }
            catch (StorageException ex)
            {
                // One line naming the file and SQLite's reason: never start empty over state that could not be read.
                StoreLog.OpenFailed(logger, ex.FilePath, ex.Reason);
                return StartFailedExitCode;
            }

            await using BrokerHost host = created;
            try
            {
                await host.StartAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
            {
                // Already logged with the listener or directory at fault.
                return StartFailedExitCode;
            }

            started?.Invoke(host);
            await WaitForShutdownAsync(shutdown);

            using var grace = new CancellationTokenSource(options.ShutdownTimeout);
            try
            {
                await host.StopAsync(grace.Token).WaitAsync(options.ShutdownTimeout + s_abortAllowance, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                // A handler ignored both the broker's close and the abort: exit anyway, the OS closes its socket.
                ServerLog.ShutdownTimedOut(logger, options.ShutdownTimeout + s_abortAllowance);
            }

            return SuccessExitCode;
        }
        finally
        {
            // Disposing flushes the console logger's queue, so the last lines are not lost.
            ownedLoggerFactory?.Dispose();
        }
    }

    /// <summary>
    /// Socket completions run on the epoll thread itself rather than being queued to the thread pool, so that with
    /// inline pipe scheduling a PUBLISH goes from receive to send on one thread. The runtime reads the variable once,
    /// when the process opens its first socket, so this must run before any listener starts; a value the operator set
    /// wins.
    /// </summary>
    private static void EnableInlineSocketCompletions()
    {
        const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }

    private static ILoggerFactory CreateConsoleLoggerFactory(LogLevel level)
        => LoggerFactory.Create(builder => builder
            .SetMinimumLevel(level)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            }));

    private static async Task WaitForShutdownAsync(CancellationToken shutdown)
    {
        var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (shutdown.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), signalled))
        {
            await signalled.Task;
        }
    }
}
