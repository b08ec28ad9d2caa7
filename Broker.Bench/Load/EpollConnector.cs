using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Broker.Core.Codec;
using Broker.Core.Packets;
using Broker.Core.Protocol;

namespace Broker.Bench.Load;

/// <summary>
/// Opens many idle MQTT connections with raw Linux calls (socket, connect, send, recv, one epoll set) on one thread,
/// <c>parallelism</c> handshakes in flight: the same TCP connect, CONNECT and CONNACK per connection as the
/// <see cref="Socket"/> path, at a fraction of the tool's CPU, so the tool is not what limits the connect rate.
/// Measured on a 2-core VM (mosquitto pinned to core 0, the tool to core 1, 10,000 connections): the Socket path spends
/// about 25 µs of user time per connect in SocketAsyncContext, event args, state machines and GC, and makes 11
/// system calls (socket, setsockopt, fcntl x2, connect, epoll_ctl, poll, getsockopt, send, recv that finds nothing,
/// recv); this makes 5: socket (non-blocking from the start), connect, send (a loopback connect has completed by the
/// time connect returns EINPROGRESS; when it has not, send says EAGAIN and the CONNECT goes on EPOLLOUT), epoll_ctl
/// (edge-triggered, in and out) and one recv on EPOLLIN. The connections are file descriptors held until
/// <see cref="EpollConnections.Abort"/> closes them with RST (SO_LINGER 0), and then the epoll set (closing it while it
/// holds thousands of descriptors takes measurable time: after the measured window, not in it).
/// </summary>
internal static class EpollConnector
{
    private const int AfInet = 2;
    private const int SockStream = 1;
    private const int SockNonBlock = 0x800;
    private const int SockCloExec = 0x80000;
    private const int EpollCloExec = 0x80000;
    private const int EpollCtlAdd = 1;
    private const uint EpollIn = 0x1;
    private const uint EpollOut = 0x4;
    private const uint EpollErr = 0x8;
    private const uint EpollHup = 0x10;
    private const uint EpollEt = 1u << 31;
    private const int SolSocket = 1;
    private const int SoError = 4;
    private const int SoLinger = 13;
    private const int MsgNoSignal = 0x4000;
    private const int EInProgress = 115;
    private const int EAgain = 11;
    private const int EIntr = 4;
    private const int MaximumPacketSize = 64 * 1024;

    /// <summary>struct epoll_event is packed (12 bytes) on x86-64 and naturally aligned (16 bytes) elsewhere.</summary>
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private enum SlotState
    {
        Idle,
        Connecting,
        AwaitingConnAck,
    }

    /// <summary>Linux on x86-64 or arm64 and an IPv4 broker address: elsewhere the Socket path is used.</summary>
    public static bool IsSupported(EndPoint broker)
        => OperatingSystem.IsLinux()
            && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64
            && broker is IPEndPoint { AddressFamily: AddressFamily.InterNetwork };

    /// <summary>
    /// Connects <paramref name="count"/> clients; returns their descriptors (-1 where the attempt failed, counted in
    /// <paramref name="failures"/>) with the epoll set. Blocks the calling thread: run it on a thread of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static EpollConnections ConnectAll(IPEndPoint broker, ConnectTemplate template, int count, int parallelism, ConnectFailures failures, CancellationToken cancellationToken)
    {
        var fds = new int[count];
        Array.Fill(fds, -1);
        byte[] address = new byte[16];   // struct sockaddr_in
        BinaryPrimitives.WriteUInt16LittleEndian(address, AfInet);   // sa_family_t in host order (both targets are little-endian)
        BinaryPrimitives.WriteUInt16BigEndian(address.AsSpan(2), (ushort)broker.Port);
        broker.Address.TryWriteBytes(address.AsSpan(4, 4), out _);

        int epoll = EpollCreate1(EpollCloExec);
        if (epoll < 0)
        {
            throw new InvalidOperationException($"epoll_create1: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            var slots = new Slot[Math.Min(parallelism, count)];
            byte[] registration = new byte[16];
            byte[] events = new byte[slots.Length * s_eventSize];
            int next = 0;
            int active = 0;
            for (int s = 0; s < slots.Length; s++)
            {
                slots[s] = new Slot(template.NewPacket());
                if (StartNext(s))
                {
                    active++;
                }
            }

            while (active > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int ready = EpollWait(epoll, events, slots.Length, 200);
                if (ready < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EIntr)
                    {
                        continue;
                    }

                    throw new InvalidOperationException($"epoll_wait: {Marshal.GetPInvokeErrorMessage(errno)}");
                }

                for (int e = 0; e < ready; e++)
                {
                    uint flags = BinaryPrimitives.ReadUInt32LittleEndian(events.AsSpan(e * s_eventSize));
                    ulong data = BinaryPrimitives.ReadUInt64LittleEndian(events.AsSpan((e * s_eventSize) + s_dataOffset));
                    int s = (int)(uint)data;
                    if (slots[s].Fd != (int)(data >> 32) || slots[s].State == SlotState.Idle)
                    {
                        continue;   // a held connection, still in the set (e.g. writable again once the broker ACKed): not the slot's current one
                    }

                    if (!Advance(slots[s], flags) && !StartNext(s))
                    {
                        active--;
                    }
                }
            }

            return new EpollConnections(epoll, fds);

            // Opens the next connection in slot s; false when none are left to open.
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            bool StartNext(int s)
            {
                Slot slot = slots[s];
                while (next < count)
                {
                    int index = next++;
                    template.SetIndex(slot.Packet, index);
                    int fd = Socket(AfInet, SockStream | SockNonBlock | SockCloExec, 0);
                    if (fd < 0)
                    {
                        failures.Add(Error("socket", Marshal.GetLastPInvokeError()));
                        continue;
                    }

                    if (Connect(fd, address, address.Length) < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno != EInProgress)
                        {
                            failures.Add(Error("connect", errno));
                            _ = Close(fd);
                            continue;
                        }
                    }

                    slot.Fd = fd;
                    slot.Index = index;
                    slot.Received = 0;
                    slot.State = SlotState.Connecting;
                    if (!TrySend(slot))
                    {
                        continue;
                    }

                    BinaryPrimitives.WriteUInt32LittleEndian(registration, EpollIn | EpollOut | EpollEt);
                    BinaryPrimitives.WriteUInt64LittleEndian(registration.AsSpan(s_dataOffset), ((ulong)(uint)fd << 32) | (uint)s);
                    if (EpollCtl(epoll, EpollCtlAdd, fd, registration) < 0)
                    {
                        Fail(slot, Error("epoll_ctl", Marshal.GetLastPInvokeError()));
                        continue;
                    }

                    return true;
                }

                return false;
            }

            // Handles one readiness event; false when the slot's connection is done (held or failed).
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            bool Advance(Slot slot, uint flags)
            {
                if (slot.State == SlotState.Connecting)
                {
                    if ((flags & (EpollErr | EpollHup)) != 0)
                    {
                        Fail(slot, Error("connect", SocketError(slot.Fd)));
                        return false;
                    }

                    if ((flags & EpollOut) == 0)
                    {
                        return true;
                    }

                    if (!TrySend(slot))
                    {
                        return false;
                    }

                    if (slot.State == SlotState.Connecting)
                    {
                        return true;
                    }
                }

                if ((flags & (EpollIn | EpollErr | EpollHup)) == 0)
                {
                    return true;   // writable again while the CONNACK is still on its way
                }

                return Receive(slot);
            }

            // Sends the CONNECT unless the connect is still in progress; false when the slot failed.
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            bool TrySend(Slot slot)
            {
                int sent = (int)Send(slot.Fd, slot.Packet, slot.Packet.Length, MsgNoSignal);
                if (sent == slot.Packet.Length)
                {
                    slot.State = SlotState.AwaitingConnAck;
                    return true;
                }

                int errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (sent < 0 && errno == EAgain)
                {
                    return true;   // not connected yet: send on EPOLLOUT
                }

                // An error on the first send is the connect's (refused, unreachable): it surfaces there on loopback.
                Fail(slot, sent < 0 ? Error(slot.State == SlotState.Connecting ? "connect" : "send", errno) : $"send: {sent} of {slot.Packet.Length} bytes");
                return false;
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            bool Receive(Slot slot)
            {
                while (true)
                {
                    if (slot.Received == slot.Buffer.Length)
                    {
                        Array.Resize(ref slot.Buffer, slot.Buffer.Length * 2);
                    }

                    int received = (int)Recv(slot.Fd, ref slot.Buffer[slot.Received], slot.Buffer.Length - slot.Received, 0);
                    if (received < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == EAgain)
                        {
                            return true;   // the rest comes with the next EPOLLIN
                        }

                        Fail(slot, Error("recv", errno));
                        return false;
                    }

                    if (received == 0)
                    {
                        Fail(slot, "connection closed while waiting for ConnAck");
                        return false;
                    }

                    slot.Received += received;
                    var buffer = new ReadOnlySequence<byte>(slot.Buffer, 0, slot.Received);
                    if (!PacketDecoder.TryReadFrame(buffer, MaximumPacketSize, out FixedHeader header))
                    {
                        continue;
                    }

                    if (header.Type != PacketType.ConnAck)
                    {
                        Fail(slot, $"expected CONNACK, received {header.Type}");
                        return false;
                    }

                    ConnAckPacket connAck = PacketDecoder.DecodeConnAck(buffer.Slice(header.HeaderLength, header.RemainingLength), template.Version);
                    if (connAck.ReasonCode != ReasonCode.Success)
                    {
                        Fail(slot, $"CONNACK refused connection {slot.Index}: {connAck.ReasonCode}");
                        return false;
                    }

                    fds[slot.Index] = slot.Fd;
                    slot.State = SlotState.Idle;
                    return false;
                }
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void Fail(Slot slot, string reason)
            {
                failures.Add(reason);
                _ = Close(slot.Fd);
                slot.State = SlotState.Idle;
            }
        }
        catch
        {
            new EpollConnections(epoll, fds).Abort();
            throw;
        }
    }

    /// <summary>Closes every open descriptor with RST (SO_LINGER on, 0 s), then the epoll set.</summary>
    public static void Abort(int epoll, int[] fds)
    {
        byte[] linger = new byte[8];   // struct linger { int l_onoff = 1; int l_linger = 0; }
        BinaryPrimitives.WriteInt32LittleEndian(linger, 1);
        for (int i = 0; i < fds.Length; i++)
        {
            if (fds[i] >= 0)
            {
                _ = SetSockOpt(fds[i], SolSocket, SoLinger, linger, linger.Length);
                _ = Close(fds[i]);
                fds[i] = -1;
            }
        }

        _ = Close(epoll);
    }

    private static int SocketError(int fd)
    {
        int error = 0;
        int length = sizeof(int);
        return GetSockOpt(fd, SolSocket, SoError, ref error, ref length) < 0 ? Marshal.GetLastPInvokeError() : error;
    }

    private static string Error(string call, int errno) => $"{call}: {Marshal.GetPInvokeErrorMessage(errno)}";

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static extern int Connect(int fd, byte[] address, int addressLength);

    [DllImport("libc", EntryPoint = "send", SetLastError = true)]
    private static extern nint Send(int fd, byte[] buffer, nint length, int flags);

    [DllImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static extern nint Recv(int fd, ref byte buffer, nint length, int flags);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static extern int SetSockOpt(int fd, int level, int name, byte[] value, int length);

    [DllImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static extern int GetSockOpt(int fd, int level, int name, ref int value, ref int length);

    [DllImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static extern int EpollCreate1(int flags);

    [DllImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static extern int EpollCtl(int epoll, int operation, int fd, byte[] @event);

    [DllImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static extern int EpollWait(int epoll, byte[] events, int maxEvents, int timeoutMilliseconds);

    /// <summary>One handshake in flight: its descriptor, connection index, CONNECT copy and receive buffer.</summary>
    private sealed class Slot(byte[] packet)
    {
        public byte[] Packet { get; } = packet;

        public byte[] Buffer = new byte[64];

        public int Fd { get; set; } = -1;

        public int Index { get; set; }

        public int Received { get; set; }

        public SlotState State { get; set; }
    }
}

/// <summary>The connections <see cref="EpollConnector.ConnectAll"/> opened (-1 for failed ones) and its epoll set.</summary>
internal sealed class EpollConnections(int epoll, int[] descriptors)
{
    private int _epoll = epoll;

    public int[] Descriptors { get; } = descriptors;

    /// <summary>Closes the connections with RST and then the epoll set; idempotent.</summary>
    public void Abort()
    {
        if (_epoll >= 0)
        {
            EpollConnector.Abort(_epoll, Descriptors);
            _epoll = -1;
        }
    }
}
