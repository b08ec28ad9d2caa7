using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Tcp;

/// <summary>
/// One accepted TCP socket as an <see cref="IDuplexPipe"/> (Kestrel's SocketConnection). The receive loop writes what
/// the socket reads into <see cref="Input"/>; the send loop sends what the handler writes to <see cref="Output"/>.
/// </summary>
/// <remarks>
/// Lifecycle and half-close:
/// - Peer FIN: <see cref="Input"/> completes without error; the handler may still write (half-close).
/// - Peer reset or socket error: <see cref="Input"/> completes with an <see cref="IOException"/> (TransportError for
///   the broker), and the socket is disposed so the send side stops too.
/// - The handler completes <see cref="Output"/>: the send loop sends what is left, then shuts the send side down (FIN).
/// - The send loop ends (error or abort): <see cref="Output"/>'s reader completes, so the handler's next flush
///   reports <see cref="FlushResult.IsCompleted"/> rather than throwing.
/// - <see cref="DisposeAsync"/>, after the handler returned: completes both handler ends, drains the output within the
///   close timeout, disposes the socket and waits for both loops. No loop lets an exception escape.
/// </remarks>
internal sealed partial class SocketConnection : IDuplexPipe, IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly SocketReceiver _receiver;
    private readonly SocketSenderPool _senderPool;
    private readonly bool _waitForData;
    private readonly TimeSpan _closeTimeout;
    private readonly Lock _shutdownLock = new();

    private volatile bool _socketDisposed;
    private int _endReason;
    private SocketError _endSocketError;
    private Task _receiveTask = Task.CompletedTask;
    private Task _sendTask = Task.CompletedTask;

    public SocketConnection(long id, Socket socket, EndPoint? localEndPoint, PipeOptions inputOptions, PipeOptions outputOptions, SocketSenderPool senderPool, bool waitForData, TimeSpan closeTimeout, ILogger logger)
    {
        Id = id;
        _socket = socket;
        _logger = logger;
        _waitForData = waitForData;
        _closeTimeout = closeTimeout;
        _input = new Pipe(inputOptions);
        _output = new Pipe(outputOptions);

        // The loops continue inline after a socket operation: on Linux the completion already runs on a pool thread,
        // and the handler is scheduled away from the loop by the pipes' own schedulers.
        // The sender pool's senders continue inline too.
        _receiver = new SocketReceiver(PipeScheduler.Inline);
        _senderPool = senderPool;

        RemoteEndPoint = TryGetEndPoint(socket, remote: true);
        LocalEndPoint = localEndPoint ?? TryGetEndPoint(socket, remote: false);
    }

    /// <summary>The listener's number for this connection, for logs.</summary>
    public long Id { get; }

    public EndPoint? RemoteEndPoint { get; }

    public EndPoint? LocalEndPoint { get; }

    /// <summary>Bytes from the peer.</summary>
    public PipeReader Input => _input.Reader;

    /// <summary>Bytes to the peer.</summary>
    public PipeWriter Output => _output.Writer;

    /// <summary>The task of the handler serving this connection, set by the listener right after <see cref="Start"/>.</summary>
    public Task ServeTask { get; set; } = Task.CompletedTask;

    /// <summary>
    /// The close reason to count in the listener's <c>shutdown_count</c> (<see cref="ShutdownReasons"/>), or null for
    /// a connection aborted by the listener's own shutdown, which esockd does not count either.
    /// </summary>
    public string? ShutdownReason => (ConnectionEndReason)Volatile.Read(ref _endReason) switch
    {
        ConnectionEndReason.PeerClosed => ShutdownReasons.TcpClosed,
        ConnectionEndReason.SocketError => MapSocketError(_endSocketError),
        ConnectionEndReason.CloseTimeout => ShutdownReasons.SendTimeout,
        ConnectionEndReason.Aborted => null,
        _ => ShutdownReasons.Normal,
    };

    /// <summary>Starts the receive and send loops.</summary>
    public void Start()
    {
        _receiveTask = DoReceiveAsync();
        _sendTask = DoSendAsync();
    }

    /// <summary>Closes the socket now; both loops end and complete the handler's pipes. Safe to call at any time, more than once.</summary>
    public void Abort()
    {
        SetEndReason(ConnectionEndReason.Aborted);
        DisposeSocket();

        // The send loop may be waiting for the handler to write: wake it so it ends too.
        _output.Reader.CancelPendingRead();
    }

    /// <summary>
    /// Ends the connection after its handler returned: the output still buffered is sent (bounded by the close
    /// timeout), the socket is shut down and disposed, and both loops have ended on return.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // The handler is gone, so nobody reads or writes its ends any more; completing twice is harmless.
        _input.Reader.Complete();
        _output.Writer.Complete();
        SetEndReason(ConnectionEndReason.LocalClosed);

        if (!_sendTask.IsCompleted)
        {
            try
            {
                await _sendTask.WaitAsync(_closeTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The peer stopped reading: do not let its connection live on without a handler.
                TransportLog.CloseTimedOut(_logger, Id, _closeTimeout);
                SetEndReason(ConnectionEndReason.CloseTimeout, overwrite: true);
                Abort();
            }
        }

        DisposeSocket();
        await _sendTask.ConfigureAwait(false);
        await _receiveTask.ConfigureAwait(false);
        _receiver.Dispose();
    }

    /// <summary>Records why the connection ended; the first reason wins unless <paramref name="overwrite"/>.</summary>
    private void SetEndReason(ConnectionEndReason reason, SocketError socketError = SocketError.Success, bool overwrite = false)
    {
        if (overwrite)
        {
            Volatile.Write(ref _endReason, (int)reason);
            return;
        }

        if (Interlocked.CompareExchange(ref _endReason, (int)reason, (int)ConnectionEndReason.None) == (int)ConnectionEndReason.None)
        {
            _endSocketError = socketError;
        }
    }

    private void ShutdownSend()
    {
        lock (_shutdownLock)
        {
            if (_socketDisposed)
            {
                return;
            }

            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // The peer is already gone; the receive loop reports how.
            }
        }
    }

    private void DisposeSocket()
    {
        lock (_shutdownLock)
        {
            if (_socketDisposed)
            {
                return;
            }

            _socketDisposed = true;
            try
            {
                // Both directions, as Kestrel does: a pending receive completes at once instead of on the peer's FIN.
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Not connected any more: nothing to shut down.
            }

            _socket.Dispose();
        }
    }

    private static EndPoint? TryGetEndPoint(Socket socket, bool remote)
    {
        try
        {
            return remote ? socket.RemoteEndPoint : socket.LocalEndPoint;
        }
        catch (SocketException)
        {
            // Reset before we looked: the connection is served anyway and ends at its first read.
            return null;
        }
    }

    private static bool IsAbortError(SocketError error)
        // Disposing the socket under a pending operation reports OperationAborted, or InvalidArgument on Unix.
        => error is SocketError.OperationAborted or SocketError.Interrupted
            || (error == SocketError.InvalidArgument && !OperatingSystem.IsWindows());

    private static string MapSocketError(SocketError error) => error switch
    {
        SocketError.ConnectionReset => ShutdownReasons.ConnectionReset,
        SocketError.ConnectionAborted => ShutdownReasons.ConnectionAborted,
        SocketError.TimedOut => ShutdownReasons.TimedOut,
        SocketError.Shutdown => ShutdownReasons.BrokenPipe,
        _ => ShutdownReasons.SocketError,
    };

    /// <summary>Why a connection ended, from the transport's point of view; the first one observed wins.</summary>
    private enum ConnectionEndReason
    {
        None,
        LocalClosed,
        PeerClosed,
        SocketError,
        CloseTimeout,
        Aborted,
    }
}
