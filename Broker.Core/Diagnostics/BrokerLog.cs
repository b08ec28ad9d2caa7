using Broker.Core.Protocol;
using Microsoft.Extensions.Logging;

namespace Broker.Core.Diagnostics;

/// <summary>The core's log messages, source-generated; nothing here is called per packet on a healthy connection.</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(1, LogLevel.Debug, "Client {ClientId}: protocol error {ReasonCode}: {Detail}")]
    public static partial void ProtocolError(ILogger logger, string? clientId, ReasonCode reasonCode, string detail);

    [LoggerMessage(2, LogLevel.Debug, "Client {ClientId}: transport error")]
    public static partial void TransportError(ILogger logger, string? clientId, Exception exception);

    [LoggerMessage(3, LogLevel.Debug, "Client {ClientId} connected ({Version}, clean start {CleanStart}, session present {SessionPresent})")]
    public static partial void ClientConnected(ILogger logger, string clientId, ProtocolVersion version, bool cleanStart, bool sessionPresent);

    [LoggerMessage(4, LogLevel.Debug, "Client {ClientId} disconnected: {Reason}")]
    public static partial void ClientDisconnected(ILogger logger, string clientId, DisconnectReason reason);

    [LoggerMessage(5, LogLevel.Error, "Unexpected error serving client {ClientId}")]
    public static partial void UnexpectedError(ILogger logger, string? clientId, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "Housekeeping failed")]
    public static partial void HousekeepingFailed(ILogger logger, Exception exception);

    [LoggerMessage(7, LogLevel.Warning, "Flapping detected: {ClientId}({PeerHost}) disconnected {Count} times in {WindowMs}ms")]
    public static partial void FlappingDetected(ILogger logger, string clientId, string peerHost, int count, long windowMs);
    [LoggerMessage(20, LogLevel.Information, "Rule {RuleId} inspect: selected {Selected}; envs {Columns}; action params {Params}")]
    public static partial void RuleInspect(ILogger logger, string ruleId, string selected, string columns, string @params);

    [LoggerMessage(21, LogLevel.Warning, "Rule {RuleId} action {ActionId} failed: {Reason}")]
    public static partial void RuleActionFailed(ILogger logger, string ruleId, string actionId, string reason);

    [LoggerMessage(22, LogLevel.Debug, "Rule {RuleId} could not be evaluated: {Reason}")]
    public static partial void RuleEvaluationFailed(ILogger logger, string ruleId, string reason);

    [LoggerMessage(23, LogLevel.Warning, "Rule action queue full: actions of rule {RuleId} dropped")]
    public static partial void RuleQueueFull(ILogger logger, string ruleId);
}
