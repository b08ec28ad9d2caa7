namespace Broker.Http.Hosting;

/// <summary>
/// A server that feeds HTTP requests to a <see cref="ManagementApi"/>: the <see cref="HttpListenerHost"/> by default;
/// a Kestrel host for HTTPS plugs in beside it through this interface.
/// </summary>
public interface IManagementHost : IAsyncDisposable
{
    /// <summary>The address clients use once started, with the bound port (for example <c>http://127.0.0.1:8081/</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Binds and starts serving. Throws when the address cannot be bound.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops accepting and waits for requests in progress, until <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default);
}
