using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Broker.Core.Diagnostics;

namespace Broker.Core.Protocol;

/// <summary>
/// Malformed or forbidden input. The connection loop is the only place that catches it: it sends DISCONNECT
/// with <see cref="ReasonCode"/> (v5) or closes the socket (3.1/3.1.1) and counts <see cref="Reason"/>.
/// </summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException(ReasonCode reasonCode, DisconnectReason reason, string message)
        : base(message)
    {
        ReasonCode = reasonCode;
        Reason = reason;
    }

    public ProtocolException()
        : this(ReasonCode.MalformedPacket, DisconnectReason.MalformedPacket, "Malformed packet")
    {
    }

    public ProtocolException(string message)
        : this(ReasonCode.MalformedPacket, DisconnectReason.MalformedPacket, message)
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        ReasonCode = ReasonCode.MalformedPacket;
        Reason = DisconnectReason.MalformedPacket;
    }

    /// <summary>The v5 reason code to send in DISCONNECT (or CONNACK before the session is up).</summary>
    public ReasonCode ReasonCode { get; }

    /// <summary>Why the connection ends, for counters and logs.</summary>
    public DisconnectReason Reason { get; }
}

/// <summary>Throw helpers: the throw sites stay out of the callers' inlined bodies.</summary>
internal static class ProtocolThrow
{
    /// <summary>A packet that breaks the wire format [MQTT-1.5], reason code 0x81.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void Malformed(string message) => throw Create(ReasonCode.MalformedPacket, DisconnectReason.MalformedPacket, message);

    /// <summary>A well-formed packet the protocol forbids here, reason code 0x82.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void ProtocolError(string message) => throw Create(ReasonCode.ProtocolError, DisconnectReason.ProtocolError, message);

    /// <summary>Any other violation with its own reason code (packet too large, topic alias invalid, ...).</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void Violation(ReasonCode code, string message) => throw Create(code, DisconnectReason.ProtocolError, message);

    [DoesNotReturn, StackTraceHidden]
    public static T Malformed<T>(string message) => throw Create(ReasonCode.MalformedPacket, DisconnectReason.MalformedPacket, message);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ProtocolException Create(ReasonCode code, DisconnectReason reason, string message) => new(code, reason, message);
}
