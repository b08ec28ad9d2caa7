using System.IO.Pipelines;
using Broker.Transport.Buffers;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Tcp;

/// <summary>
/// What a listener's connections share: buffer pools, the logger and the settings read once from
/// <see cref="SocketListenerOptions"/>. Connections, readers and writers reach them through one reference rather than
/// holding copies: bytes per idle connection count.
/// </summary>
internal sealed class SocketTransportOptions
{
    public SocketTransportOptions(SocketListenerOptions options, ILogger logger)
    {
        Logger = logger;
        WaitForData = options.WaitForDataBeforeAllocatingBuffer;
        MaxWriteBufferSize = options.MaxWriteBufferSize;
        CloseTimeout = options.CloseTimeout;

        // A socket completion runs on the thread pool, unless the process runs them inline on the epoll thread
        // (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1): then the broker's read continues there only if asked to.
        DispatchReads = InlineSocketCompletions && !options.PreferInlineScheduling;
    }

    /// <summary>Whether socket completions run on the epoll thread in this process.</summary>
    public static bool InlineSocketCompletions { get; } =
        Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is "1" or "true";

    public BlockMemoryPool Pool { get; } = BlockMemoryPool.Instance;

    /// <summary>Send operations, rented per send; their continuations run inline on the completing I/O thread.</summary>
    public SocketSenderPool SenderPool { get; } = new(PipeScheduler.Inline);

    public bool WaitForData { get; }

    /// <summary>Whether a read's continuation is queued to the thread pool instead of running on the completing thread.</summary>
    public bool DispatchReads { get; }

    /// <summary>Unsent bytes above which a flush waits (0: never).</summary>
    public long MaxWriteBufferSize { get; }

    /// <summary>Unsent bytes at or below which a waiting flush resumes.</summary>
    public long ResumeWriteBufferSize => MaxWriteBufferSize / 2;

    public ILogger Logger { get; }

    public TimeSpan CloseTimeout { get; }
}
