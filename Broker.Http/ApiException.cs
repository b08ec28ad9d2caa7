using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Broker.Http;

/// <summary>
/// Ends a request early with a ready response (bad <c>_page</c>, body not JSON...). Thrown through <see cref="ApiThrow"/>
/// by the shared helpers and caught only by the dispatcher, so handlers read straight through.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException()
        : this(ApiResponse.Text(500, "Internal Error"))
    {
    }

    public ApiException(string message)
        : this(V4.Error(ResultCode.Unknown, message, status: 400))
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException) => Response = V4.Error(ResultCode.Unknown, message, status: 400);

    public ApiException(ApiResponse response)
        : base(response?.BodyText) => Response = response ?? throw new ArgumentNullException(nameof(response));

    public ApiResponse Response { get; }
}

/// <summary>Throw helpers for <see cref="ApiException"/>; they never return.</summary>
public static class ApiThrow
{
    /// <summary>400 with <c>{"code":code,"message":message}</c>.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void BadRequest(int code, string message) => throw Create(V4.Error(code, message, status: 400));

    /// <summary>Ends the request with <paramref name="response"/>.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void With(ApiResponse response) => throw Create(response);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ApiException Create(ApiResponse response) => new(response);
}
