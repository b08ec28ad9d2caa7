using Microsoft.Extensions.Logging;

namespace Broker.Http;

/// <summary>Log messages of the management API, with stable event ids (3xxx).</summary>
internal static partial class HttpLog
{
    [LoggerMessage(3000, LogLevel.Error, "Management API handler for {Method} {Path} failed.")]
    public static partial void HandlerFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(3001, LogLevel.Information, "Management API listening on {Prefix}.")]
    public static partial void Listening(ILogger logger, string prefix);

    [LoggerMessage(3002, LogLevel.Warning, "Management API request from {Remote} failed: {Reason}")]
    public static partial void RequestFailed(ILogger logger, string remote, string reason);

    [LoggerMessage(3003, LogLevel.Error, "Management API accept loop failed.")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(3004, LogLevel.Warning, "Cloud-edge channel: {Kind} '{Id}' failed: {Reason}")]
    public static partial void UpstreamFailed(ILogger logger, string kind, string id, string reason);

    [LoggerMessage(3005, LogLevel.Warning, "Management API on {Prefix}: a client connected while the listener was starting ({Reason}); starting again.")]
    public static partial void StartRaced(ILogger logger, string prefix, string reason);
}
