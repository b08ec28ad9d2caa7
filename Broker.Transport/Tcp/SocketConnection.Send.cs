using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Broker.Transport.Diagnostics;

namespace Broker.Transport.Tcp;

internal sealed partial class SocketConnection
{
    /// <summary><see cref="Output"/> to the socket, everything available in one gathered send, until the handler completes it.</summary>
    /// <remarks>
    /// Only what the loop needs after a send (where the batch ends, whether it was the last) is kept across the send's
    /// await: the state machine box lives as long as the connection, so every hoisted local costs bytes per connection.
    /// </remarks>
    private async Task DoSendAsync()
    {
        try
        {
            while (true)
            {
                ReadResult result = await _output.Reader.ReadAsync();
                if (result.IsCanceled)
                {
                    // Abort or a receive error cancelled the read: the socket is gone.
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                if (buffer.IsEmpty)
                {
                    _output.Reader.AdvanceTo(buffer.End);
                    if (result.IsCompleted)
                    {
                        OnOutputDone();
                        break;
                    }

                    continue;
                }

                ReadOnlySequence<byte> batch = LimitSegments(buffer);
                bool last = result.IsCompleted && batch.Length == buffer.Length;
                SequencePosition end = batch.End;
                SocketSender sender = _senderPool.Rent();
                SocketOperationResult sent;
                try
                {
                    sent = await sender.SendAsync(_socket, batch);
                }
                finally
                {
                    _senderPool.Return(sender);
                }

                if (sent.HasError)
                {
                    OnSendError(sent.SocketError!);
                    _output.Reader.AdvanceTo(end);
                    break;
                }

                _output.Reader.AdvanceTo(end);
                if (last)
                {
                    OnOutputDone();
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
            _output.Reader.Complete();
        }
    }

    /// <summary>The handler completed Output and every byte went out: tell the peer with FIN.</summary>
    private void OnOutputDone()
    {
        SetEndReason(ConnectionEndReason.LocalClosed);
        ShutdownSend();
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
