using System.Net.Sockets;

namespace Broker.Transport.Tcp;

/// <summary>The outcome of one socket receive or send: a byte count or an error, returned without throwing (Kestrel's shape).</summary>
internal readonly struct SocketOperationResult
{
    public SocketOperationResult(int bytesTransferred)
    {
        SocketError = null;
        BytesTransferred = bytesTransferred;
    }

    public SocketOperationResult(SocketException exception)
    {
        SocketError = exception;
        BytesTransferred = 0;
    }

    public SocketException? SocketError { get; }

    public int BytesTransferred { get; }

    public bool HasError => SocketError is not null;
}
