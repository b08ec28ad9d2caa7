using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Broker.Transport.Diagnostics;

namespace Broker.Transport.Tcp;

internal sealed partial class SocketConnection
{
    /// <summary><see cref="Output"/> to the socket, everything available in one gathered send, until the handler completes it.</summary>
    private async Task DoSendAsync()
    {
        PipeReader reader = _output.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync();
                if (result.IsCanceled)
                {
                    // Abort or a receive error cancelled the read: the socket is gone.
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                bool sentAll = true;
                if (!buffer.IsEmpty)
                {
                    ReadOnlySequence<byte> batch = LimitSegments(buffer);
                    sentAll = batch.Length == buffer.Length;
                    SocketOperationResult sent = await _sender.SendAsync(_socket, batch);
                    _sender.Reset();
                    if (sent.HasError)
                    {
                        OnSendError(sent.SocketError!);
                        reader.AdvanceTo(buffer.End);
                        break;
                    }

                    reader.AdvanceTo(batch.End);
                }
                else
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCompleted && sentAll)
                {
                    // The handler completed Output and every byte went out: tell the peer with FIN.
                    SetEndReason(ConnectionEndReason.LocalClosed);
                    ShutdownSend();
                    break;
                }
            }
        }
        catch (ObjectDisposedException) when (_socketDisposed)
        {
            // Aborted while a send was being started.
        }
        catch (Exception ex)
        {
            TransportLog.ConnectionLoopFailed(_logger, "send", Id, ex);
            SetEndReason(ConnectionEndReason.SocketError, SocketError.SocketError);
            DisposeSocket();
        }
        finally
        {
            // No exception: the handler's next flush sees IsCompleted; the input pipe carries the error, if any.
            reader.Complete();
        }
    }

    private void OnSendError(SocketException exception)
    {
        if (!_socketDisposed && !IsAbortError(exception.SocketErrorCode))
        {
            SetEndReason(ConnectionEndReason.SocketError, exception.SocketErrorCode);
        }

        // A failed send leaves the stream in an unknown state: end the receive side too.
        DisposeSocket();
    }

    /// <summary>The longest prefix of <paramref name="buffer"/> that fits one gathered send.</summary>
    private static ReadOnlySequence<byte> LimitSegments(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer;
        }

        long length = 0;
        int segments = 0;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            if (++segments > SocketSender.MaxSegmentsPerSend)
            {
                return buffer.Slice(0, length);
            }

            length += segment.Length;
        }

        return buffer;
    }
}
