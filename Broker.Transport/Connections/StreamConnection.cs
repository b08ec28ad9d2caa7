using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using Broker.Transport.Diagnostics;
using Broker.Transport.WebSockets;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Connections;

/// <summary>
/// One connection whose bytes pass through a <see cref="Stream"/> (TLS, WebSocket) as an <see cref="IDuplexPipe"/>:
/// a receive loop copies the stream into the input pipe and a send loop copies the output pipe to the stream, with
/// the same pipe thresholds as the TCP transport, so the broker sees the same back-pressure whatever the transport.
/// </summary>
internal sealed class StreamConnection : ServedConnection
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly TimeSpan _closeTimeout;
    private readonly ILogger _logger;
    private Task _receiveTask = Task.CompletedTask;
    private Task _sendTask = Task.CompletedTask;
    private string? _endReason;
    private volatile bool _aborted;
    private int _socketDisposed;

    public StreamConnection(long id, Socket socket, Stream stream, PipeOptions inputOptions, PipeOptions outputOptions, TimeSpan closeTimeout, ILogger logger)
        : base(id)
    {
        _socket = socket;
        _stream = stream;
        _input = new Pipe(inputOptions);
        _output = new Pipe(outputOptions);
        _closeTimeout = closeTimeout;
        _logger = logger;
    }

    public override PipeReader Input => _input.Reader;

    public override PipeWriter Output => _output.Writer;


    /// <summary>The close reason for <c>shutdown_count</c>, or null for a connection aborted by the listener's shutdown.</summary>
    public override string? ShutdownReason => _aborted && Volatile.Read(ref _endReason) is null ? null : Volatile.Read(ref _endReason) ?? ShutdownReasons.Normal;

    public void Start()
    {
        _receiveTask = ReceiveLoopAsync();
        _sendTask = SendLoopAsync();
    }

    /// <summary>Closes the socket now; both loops end and complete the handler's pipes.</summary>
    public override void Abort()
    {
        _aborted = true;
        DisposeSocket();
        _output.Reader.CancelPendingRead();
    }

    /// <summary>After the handler returned: sends what is buffered, closes the WebSocket or TLS session, then the socket.</summary>
    public override async ValueTask DisposeAsync()
    {
        _input.Reader.Complete();
        _output.Writer.Complete();
        SetEndReason(ShutdownReasons.Normal);

        using var closing = new CancellationTokenSource(_closeTimeout);
        try
        {
            await _sendTask.WaitAsync(closing.Token).ConfigureAwait(false);
            if (Volatile.Read(ref _socketDisposed) == 0)
            {
                if (_stream is WebSocketMessageStream webSocket)
                {
                    await webSocket.CloseAsync(closing.Token).ConfigureAwait(false);
                }
                else if (_stream is SslStream ssl)
                {
                    await ssl.ShutdownAsync().WaitAsync(closing.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            TransportLog.CloseTimedOut(_logger, Id, _closeTimeout);
            Volatile.Write(ref _endReason, ShutdownReasons.SendTimeout);
        }
        catch (Exception ex) when (ex is IOException or WebSocketException or ObjectDisposedException or InvalidOperationException or AuthenticationException)
        {
            // The peer is gone already: nothing left to say goodbye to.
        }

        DisposeSocket();
        await _sendTask.ConfigureAwait(false);
        await _receiveTask.ConfigureAwait(false);
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or WebSocketException)
        {
            // Disposing over a dead socket.
        }
    }

    private async Task ReceiveLoopAsync()
    {
        PipeWriter writer = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                Memory<byte> buffer = writer.GetMemory();
                int read = await _stream.ReadAsync(buffer).ConfigureAwait(false);
                if (read == 0)
                {
                    SetEndReason(_stream is WebSocketMessageStream { UnexpectedFrame: true } ? ShutdownReasons.UnexpectedWebSocketFrame : ShutdownReasons.TcpClosed);
                    break;
                }

                writer.Advance(read);
                FlushResult flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            if (!_aborted)
            {
                SetEndReason(MapError(ex));
                if (!IsTransportError(ex))
                {
                    TransportLog.ConnectionLoopFailed(_logger, "receive", Id, ex);
                }
            }

            error = new IOException(ex.Message, ex);

            // Dead both ways: stop the send loop too, so the handler sees the end on either pipe.
            DisposeSocket();
            _output.Reader.CancelPendingRead();
        }
        finally
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync()
    {
        PipeReader reader = _output.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                foreach (ReadOnlyMemory<byte> segment in buffer)
                {
                    await _stream.WriteAsync(segment).ConfigureAwait(false);
                }

                await _stream.FlushAsync().ConfigureAwait(false);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            if (!_aborted)
            {
                SetEndReason(MapError(ex));
                if (!IsTransportError(ex))
                {
                    TransportLog.ConnectionLoopFailed(_logger, "send", Id, ex);
                }
            }

            DisposeSocket();
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void SetEndReason(string reason) => Interlocked.CompareExchange(ref _endReason, reason, null);

    private void DisposeSocket()
    {
        if (Interlocked.Exchange(ref _socketDisposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected any more.
        }

        _socket.Dispose();
    }

    private static bool IsTransportError(Exception ex)
        => ex is IOException or WebSocketException or AuthenticationException or ObjectDisposedException or OperationCanceledException;

    private static string MapError(Exception ex)
    {
        for (Exception? inner = ex; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case SocketException socket:
                    return socket.SocketErrorCode switch
                    {
                        SocketError.ConnectionReset => ShutdownReasons.ConnectionReset,
                        SocketError.ConnectionAborted => ShutdownReasons.ConnectionAborted,
                        SocketError.TimedOut => ShutdownReasons.TimedOut,
                        SocketError.Shutdown => ShutdownReasons.BrokenPipe,
                        _ => ShutdownReasons.SocketError,
                    };
                case AuthenticationException:
                    return ShutdownReasons.SslError;
                case WebSocketException { WebSocketErrorCode: WebSocketError.ConnectionClosedPrematurely }:
                    return ShutdownReasons.TcpClosed;
            }
        }

        return ex is WebSocketException ? ShutdownReasons.FrameError : ShutdownReasons.SocketError;
    }

    internal static EndPoint? TryGetEndPoint(Socket socket, bool remote)
    {
        try
        {
            return remote ? socket.RemoteEndPoint : socket.LocalEndPoint;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
