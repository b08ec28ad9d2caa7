using System.IO.Pipelines;
using Broker.Core.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Core;

/// <summary>
/// The broker. It owns no sockets: a transport hands each connection over as an <see cref="IDuplexPipe"/>
/// through <see cref="RunConnectionAsync"/>, which returns when the connection ends.
/// </summary>
public sealed class MqttBroker : IAsyncDisposable
{
    public MqttBroker(BrokerOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new BrokerOptions();
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    public BrokerOptions Options { get; }

    public ILoggerFactory LoggerFactory { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>Serves one MQTT connection until the peer or the broker closes it. Never throws for bad input.</summary>
    public Task RunConnectionAsync(IDuplexPipe transport, ConnectionInfo info, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(info);
        throw new NotImplementedException(Options.NodeName);
    }

    /// <summary>Closes every connection (v5 clients get DISCONNECT 0x8B) and stops the broker's timers.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
