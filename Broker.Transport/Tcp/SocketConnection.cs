using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Diagnostics;

namespace Broker.Transport.Tcp;

/// <summary>
/// One accepted TCP socket as an <see cref="IDuplexPipe"/>. <see cref="Input"/> receives when the handler reads
/// (<see cref="SocketPipeReader"/>); <see cref="Output"/> sends when the handler flushes (<see cref="SocketPipeWriter"/>).
/// There are no pipes and no receive or send loops: an idle connection is its socket, this object, the reader and
/// writer, and the one receive operation waiting for data, with no buffer.
/// </summary>
/// <remarks>
/// Lifecycle and half-close:
/// - Peer FIN: <see cref="Input"/> reports completion without error; the handler may still write (half-close).
/// - Peer reset or socket error: <see cref="Input"/>'s read throws an <see cref="IOException"/> (TransportError for the
///   broker), and the socket is disposed so the output stops too.
/// - The handler completes <see cref="Output"/>: what is left is sent, then the send side is shut down (FIN).
/// - A send fails or the connection is aborted: the handler's next flush reports <see cref="FlushResult.IsCompleted"/>
///   rather than throwing.
/// - <see cref="DisposeAsync"/>, after the handler returned: completes both handler ends, waits for the output to
///   drain within the close timeout, and disposes the socket.
/// </remarks>
internal sealed class SocketConnection : ServedConnection
{
    private readonly Socket _socket;
    private readonly SocketTransportOptions _options;
    private readonly SocketPipeReader _input;
    private readonly SocketPipeWriter _output;

    private int _socketDisposed;
    private int _outputDone;
    private int _endReason;
    private SocketError _endSocketError;

    public SocketConnection(long id, Socket socket, EndPoint? localEndPoint, SocketTransportOptions options)
        : base(id)
    {
        _socket = socket;
        _options = options;
        _input = new SocketPipeReader(this, options.DispatchReads);
        _output = new SocketPipeWriter(this);
        RemoteEndPoint = TryGetEndPoint(socket, remote: true);
        LocalEndPoint = localEndPoint ?? TryGetEndPoint(socket, remote: false);
    }

    /// <summary>The listener's number for this connection, for logs.</summary>
    public EndPoint? RemoteEndPoint { get; }

    public EndPoint? LocalEndPoint { get; }

    /// <summary>Bytes from the peer.</summary>
    public override PipeReader Input => _input;

    /// <summary>Bytes to the peer.</summary>
    public override PipeWriter Output => _output;


    internal Socket Socket => _socket;

    /// <summary>What this listener's connections share (pools, logger, limits).</summary>
    internal SocketTransportOptions Options => _options;

    private bool SocketDisposed => Volatile.Read(ref _socketDisposed) != 0;

    /// <summary>
    /// The close reason to count in the listener's <c>shutdown_count</c> (<see cref="ShutdownReasons"/>), or null for
    /// a connection aborted by the listener's own shutdown, which esockd does not count either.
    /// </summary>
    public override string? ShutdownReason => (ConnectionEndReason)Volatile.Read(ref _endReason) switch
    {
        ConnectionEndReason.PeerClosed => ShutdownReasons.TcpClosed,
        ConnectionEndReason.SocketError => MapSocketError(_endSocketError),
        ConnectionEndReason.CloseTimeout => ShutdownReasons.SendTimeout,
        ConnectionEndReason.Aborted => null,
        _ => ShutdownReasons.Normal,
    };

    /// <summary>Closes the socket now; a pending read fails and flushes report completion. Safe at any time, more than once.</summary>
    public override void Abort()
    {
        SetEndReason(ConnectionEndReason.Aborted);
        DisposeSocket();
    }

    /// <summary>
    /// Ends the connection after its handler returned: the output still buffered is sent (bounded by the close
    /// timeout), the socket is shut down and disposed.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        // The handler is gone, so nobody reads or writes its ends any more; completing twice is harmless.
        _input.Complete();
        _output.Complete();
        SetEndReason(ConnectionEndReason.LocalClosed);

        Task drained = _output.WhenDrained();
        if (!drained.IsCompleted)
        {
            try
            {
                await drained.WaitAsync(_options.CloseTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The peer stopped reading: do not let its connection live on without a handler.
                TransportLog.CloseTimedOut(_options.Logger, Id, _options.CloseTimeout);
                SetEndReason(ConnectionEndReason.CloseTimeout, overwrite: true);
                Abort();
            }
        }

        DisposeSocket();

        // A receive still waiting (its read was cancelled) ends with the socket; the args go when it has.
        _input.Dispose();
    }

    /// <summary>The peer sent FIN.</summary>
    internal void OnPeerClosed() => SetEndReason(ConnectionEndReason.PeerClosed);

    /// <summary>A receive failed: the exception the handler's read gets.</summary>
    internal IOException OnReceiveError(SocketError error)
    {
        if (SocketDisposed || IsAbortError(error))
        {
            return CreateAbortedException();
        }

        SetEndReason(ConnectionEndReason.SocketError, error);

        // The connection is dead both ways: the output stops too, so the handler sees the end on either side.
        DisposeSocket();
        return new IOException(new SocketException((int)error).Message, new SocketException((int)error));
    }

    /// <summary>A send failed: the stream is in an unknown state, so the receive side ends too.</summary>
    internal void OnSendError(SocketError error)
    {
        if (!SocketDisposed && !IsAbortError(error))
        {
            SetEndReason(ConnectionEndReason.SocketError, error);
        }

        DisposeSocket();
    }

    /// <summary>The handler completed <see cref="Output"/> and everything flushed went out (or never will): FIN.</summary>
    internal void OnOutputDone()
    {
        if (Interlocked.Exchange(ref _outputDone, 1) != 0)
        {
            return;
        }

        SetEndReason(ConnectionEndReason.LocalClosed);
        if (!SocketDisposed)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The peer is already gone, or the socket was disposed meanwhile; the receive side reports how.
            }
        }
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

    private void DisposeSocket()
    {
        if (Interlocked.Exchange(ref _socketDisposed, 1) != 0)
        {
            return;
        }

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
        _output.OnSocketBroken();
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

    private static IOException CreateAbortedException() => new("The connection was aborted by the server.");
}
