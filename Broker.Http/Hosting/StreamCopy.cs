using System.Buffers;

namespace Broker.Http.Hosting;

/// <summary>
/// Copies a streamed response body (<see cref="ApiResponse.BodyStream"/>) to the wire through one pooled buffer, so a
/// proxied body of any size costs the host 64 KiB. Each read and each write must finish within the idle timeout: a
/// body that keeps moving may take as long as it needs, one that stalls drops the connection.
/// </summary>
public static class StreamCopy
{
    private const int BufferSize = 64 * 1024;

    public static async Task CopyAsync(Stream source, Stream destination, TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                idle.CancelAfter(idleTimeout);
                int read = await source.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                idle.CancelAfter(idleTimeout);
                await destination.WriteAsync(buffer.AsMemory(0, read), idle.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("The body did not move within the I/O timeout.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
