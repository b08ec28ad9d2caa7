using System.IO.Pipelines;
using System.Net.Sockets;
using Broker.Transport.Diagnostics;

namespace Broker.Transport.Tcp;

internal sealed partial class SocketConnection
{
    /// <summary>Socket to <see cref="Input"/>, until FIN, an error, an abort, or the handler stops reading.</summary>
    private async Task DoReceiveAsync()
    {
        PipeWriter writer = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                if (_waitForData)
                {
                    SocketOperationResult ready = await _receiver.WaitForDataAsync(_socket);
                    if (ready.HasError)
                    {
                        error = OnReceiveError(ready.SocketError!);
                        break;
                    }
                }

                Memory<byte> buffer = writer.GetMemory();
                SocketOperationResult received = await _receiver.ReceiveAsync(_socket, buffer);
                if (received.HasError)
                {
                    error = OnReceiveError(received.SocketError!);
                    break;
                }

                int bytesReceived = received.BytesTransferred;
                if (bytesReceived == 0)
                {
                    // Shutting our own socket down also wakes a pending receive with 0 bytes: that is not the peer's FIN.
                    if (_socketDisposed)
                    {
                        error = CreateAbortedException();
                    }
                    else
                    {
                        SetEndReason(ConnectionEndReason.PeerClosed);
                    }

                    break;
                }

                writer.Advance(bytesReceived);

                // Waits while the handler is more than MaxReadBufferSize behind: TCP back-pressure to the peer.
                FlushResult flush = await writer.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    // The handler completed its input: nothing more to read for.
                    break;
                }
            }
        }
        catch (ObjectDisposedException) when (_socketDisposed)
        {
            error = CreateAbortedException();
        }
        catch (Exception ex)
        {
            TransportLog.ConnectionLoopFailed(_logger, "receive", Id, ex);
            SetEndReason(ConnectionEndReason.SocketError, SocketError.SocketError);
            error = ex;
            DisposeSocket();
        }
        finally
        {
            writer.Complete(error);
        }
    }

    private IOException OnReceiveError(SocketException exception)
    {
        if (_socketDisposed || IsAbortError(exception.SocketErrorCode))
        {
            return CreateAbortedException();
        }

        SetEndReason(ConnectionEndReason.SocketError, exception.SocketErrorCode);

        // The connection is dead both ways: stop the send loop too, so the handler sees the end on either pipe.
        DisposeSocket();
        _output.Reader.CancelPendingRead();
        return new IOException(exception.Message, exception);
    }

    private static IOException CreateAbortedException() => new("The connection was aborted by the server.");
}
