using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>Log messages of the standalone broker, with stable event ids (2xxx).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(2000, LogLevel.Information, "Broker {NodeName} started; listeners: {Listeners}; data directory: {DataDirectory}.")]
    public static partial void Started(ILogger logger, string nodeName, string listeners, string dataDirectory);

    [LoggerMessage(2001, LogLevel.Information, "Configuration read from {ConfigFile}.")]
    public static partial void ConfigLoaded(ILogger logger, string configFile);

    [LoggerMessage(2002, LogLevel.Information, "Shutting down: no new connections; disconnecting clients (up to {ShutdownTimeout}).")]
    public static partial void Stopping(ILogger logger, TimeSpan shutdownTimeout);

    [LoggerMessage(2003, LogLevel.Information, "Broker {NodeName} stopped.")]
    public static partial void Stopped(ILogger logger, string nodeName);

    [LoggerMessage(2004, LogLevel.Warning, "Clients were not all disconnected within {ShutdownTimeout}; their sockets were aborted.")]
    public static partial void ShutdownTimedOut(ILogger logger, TimeSpan shutdownTimeout);

    [LoggerMessage(2005, LogLevel.Critical, "Could not start listener {ListenerName}: {Reason}")]
    public static partial void ListenerFailed(ILogger logger, string listenerName, string reason);

    [LoggerMessage(2006, LogLevel.Error, "The broker failed while shutting down.")]
    public static partial void BrokerDisposeFailed(ILogger logger, Exception exception);

    [LoggerMessage(2007, LogLevel.Critical, "Could not create the data directory {DataDirectory}: {Reason}")]
    public static partial void DataDirectoryFailed(ILogger logger, string dataDirectory, string reason);

    [LoggerMessage(2008, LogLevel.Critical, "Could not start the HTTPS management API: {Reason}")]
    public static partial void HttpsCertificateFailed(ILogger logger, string reason);

    [LoggerMessage(2009, LogLevel.Information, "Management API (HTTPS) listening on {Address}.")]
    public static partial void HttpsListening(ILogger logger, string address);
    [LoggerMessage(2010, LogLevel.Error, "{File}: {Kind} {Id} could not be restored and is skipped: {Reason}")]
    public static partial void RuleRestoreFailed(ILogger logger, string file, string kind, string id, string reason);

    [LoggerMessage(2011, LogLevel.Debug, "JIT warm-up done in {ElapsedMs:F0} ms.")]
    public static partial void WarmupDone(ILogger logger, double elapsedMs);

    [LoggerMessage(2012, LogLevel.Warning, "JIT warm-up stopped after {ElapsedMs:F0} ms ({Reason}); the first clients may be slower.")]
    public static partial void WarmupFailed(ILogger logger, double elapsedMs, string reason);

    [LoggerMessage(2013, LogLevel.Debug, "Socket event loops: {Count} thread(s) run with a {SliceMicroseconds} µs scheduling slice.")]
    public static partial void EventLoopSliceSet(ILogger logger, int count, int sliceMicroseconds);

    [LoggerMessage(2014, LogLevel.Debug, "This kernel takes no per-thread scheduling slice (Linux 6.12+); the socket event loops keep its default.")]
    public static partial void EventLoopSliceUnsupported(ILogger logger);
}
