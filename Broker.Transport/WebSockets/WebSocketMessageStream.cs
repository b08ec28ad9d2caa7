using System.Net.WebSockets;

namespace Broker.Transport.WebSockets;

/// <summary>
/// MQTT's byte stream over a WebSocket (MQTT 5.0 §6): reads return the payload of binary frames as they come, so a
/// packet split across frames or several packets in one frame reach the pipe as plain bytes; each write is one binary
/// message. A text frame ends the stream (EMQX closes on it, <c>unexpected_ws_frame</c>), and so does a close frame.
/// </summary>
internal sealed class WebSocketMessageStream(WebSocket webSocket) : Stream
{
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;

    /// <summary>Whether the stream ended on a text frame.</summary>
    public bool UnexpectedFrame { get; private set; }

    /// <summary>Whether the stream ended on the peer's close frame.</summary>
    public bool PeerClosed { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ValueWebSocketReceiveResult result = await webSocket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            switch (result.MessageType)
            {
                case WebSocketMessageType.Binary when result.Count > 0:
                    return result.Count;
                case WebSocketMessageType.Binary:
                    // An empty frame: 0 would read as the end of the stream.
                    continue;
                case WebSocketMessageType.Close:
                    PeerClosed = true;
                    return 0;
                default:
                    UnexpectedFrame = true;
                    _closeStatus = WebSocketCloseStatus.InvalidMessageType;
                    return 0;
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => webSocket.SendAsync(buffer, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Sends the close frame (1000, or 1003 after a text frame) unless the connection is already gone.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (webSocket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await webSocket.CloseOutputAsync(_closeStatus, null, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            webSocket.Dispose();
        }

        base.Dispose(disposing);
    }
}
