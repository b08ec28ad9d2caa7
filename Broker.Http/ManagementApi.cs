using Broker.Http.Channel;
using Broker.Http.Json;
using Broker.Http.Routes;
using Broker.Http.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Http;

/// <summary>
/// The management API as one function from <see cref="ApiRequest"/> to <see cref="ApiResponse"/>, independent of the
/// server underneath. It serves <c>GET /status</c> without credentials, and under Basic authentication the v4 routes at
/// <c>/api/v4/...</c> and <c>/api/...</c> and the v3 routes at <c>/api/v3/...</c>. Routes are registered per resource in
/// <c>Routes/*.cs</c> (<see cref="RouteCatalog"/>); <see cref="V4Routes"/> and <see cref="V3Routes"/> take more.
/// </summary>
public sealed class ManagementApi
{
    private const string V4Prefix = "/api/v4";
    private const string V3Prefix = "/api/v3";
    private const string ApiPrefix = "/api";

    private readonly ILogger _logger;

    /// <param name="context">The services the routes use.</param>
    /// <param name="loggerFactory">Logs handler failures under <c>Broker.Http</c>.</param>
    /// <param name="registerDefaultRoutes">False leaves both tables empty (tests of the framework itself).</param>
    public ManagementApi(ManagementContext context, ILoggerFactory? loggerFactory = null, bool registerDefaultRoutes = true)
    {
        Context = context ?? throw new ArgumentNullException(nameof(context));
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Http");
        if (registerDefaultRoutes)
        {
            RouteCatalog.MapV4(V4Routes);
            RouteCatalog.MapV3(V3Routes);
        }
    }

    public ManagementContext Context { get; }

    /// <summary>Routes served at <c>/api/v4/...</c> and <c>/api/...</c>.</summary>
    public RouteTable V4Routes { get; } = new();

    /// <summary>Routes served at <c>/api/v3/...</c>.</summary>
    public RouteTable V3Routes { get; } = new();

    /// <summary>
    /// The cloud-edge channel (<c>/api/login</c>, <c>/api/emqxee/dashboard/...</c>, <c>/api/edgeservice/proxy/...</c>),
    /// served ahead of the v4 routes; null (the default) leaves those paths to the v4 table, where they are 404.
    /// </summary>
    public CloudEdgeChannel? Channel
    {
        get => Context.Channel;
        set => Context.Channel = value;
    }

    /// <summary>
    /// Whether the host must hand this path's body over unread (<see cref="ApiRequest.BodyStream"/>) instead of reading
    /// it up to its size limit: the channel's proxy routes, which stream bodies of any size.
    /// </summary>
    public bool IsStreamingPath(string rawPath) => Channel is not null && CloudEdgeChannel.IsProxyPath(rawPath);

    /// <summary>Serves one request. Never throws: a handler failure is a 500.</summary>
    public ValueTask<ApiResponse> HandleAsync(ApiRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Channel is { } channel && CloudEdgeChannel.IsChannelPath(request.RawPath))
        {
            return channel.HandleAsync(request);
        }

        return HandleCoreAsync(request, trusted: false);
    }

    /// <summary>
    /// Serves a request whose caller is already authorised (the channel forwarding to <c>local</c>): no Basic
    /// credentials are asked for, and channel paths are not served again (no loop).
    /// </summary>
    internal ValueTask<ApiResponse> HandleTrustedAsync(ApiRequest request) => HandleCoreAsync(request, trusted: true);

    private async ValueTask<ApiResponse> HandleCoreAsync(ApiRequest request, bool trusted)
    {
        string path = request.RawPath;
        if (path is "/status" or "/status/")
        {
            return Status(request);
        }

        bool v3;
        string rest;
        if (TryStrip(path, V3Prefix, out rest))
        {
            v3 = true;
        }
        else if (TryStrip(path, V4Prefix, out rest) || TryStrip(path, ApiPrefix, out rest))
        {
            v3 = false;
        }
        else
        {
            return ApiResponse.NotFound();
        }

        List<string> segments = SplitPath(rest);
        RouteTable table = v3 ? V3Routes : V4Routes;
        RouteValues values = RouteValues.Empty;
        RouteEntry? route = segments.Count == 0 ? null : table.Match(request.Method, segments, out values);
        if (!trusted && route is not { AllowAnonymous: true } && !Context.Apps.AuthenticateBasic(request.GetHeader("Authorization")))
        {
            return ApiResponse.Unauthorized();
        }

        if (segments.Count == 0)
        {
            return request.Method == "GET" ? ListRoutes(v3) : ApiResponse.Text(400, "Bad Request");
        }

        if (route is null || (values.TryGet("node", out string? node) && !string.Equals(node, Context.NodeName, StringComparison.Ordinal)))
        {
            // EMQX: no route, wrong method, or a node name that is not a cluster member (list_to_existing_atom fails).
            return ApiResponse.NotFound();
        }

        var call = new ApiCall(request, values, Context);
        try
        {
            return await route.Handler(call).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            return ex.Response;
        }
#pragma warning disable CA1031 // A handler's bug is the caller's 500, never the host's crash.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HttpLog.HandlerFailed(_logger, request.Method, request.RawPath, ex);
            return V4.Error(ResultCode.Unknown, "Internal Error", status: 500);
        }
        finally
        {
            call.DisposeBody();
        }
    }

    /// <summary>EMQX's <c>/status</c>: text, no credentials.</summary>
    private ApiResponse Status(ApiRequest request)
        => request.Method == "GET"
            ? ApiResponse.Text(200, $"Node {Context.NodeName} is started\nbroker is running")
            : ApiResponse.Text(400, "Not found.");

    private ApiResponse ListRoutes(bool v3)
    {
        RouteTable table = v3 ? V3Routes : V4Routes;
        var list = new List<RouteInfoDto>(table.Routes.Count);
        foreach (RouteEntry route in table.Routes)
        {
            list.Add(new RouteInfoDto(route.Name, route.Method, route.Template.DisplayPath, route.Description));
        }

        return v3 ? V3.Raw<IReadOnlyList<RouteInfoDto>>(list, HttpJsonContext.Default.IReadOnlyListRouteInfoDto)
            : V4.Ok<IReadOnlyList<RouteInfoDto>>(list, HttpJsonContext.Default.IReadOnlyListRouteInfoDto);
    }

    private static bool TryStrip(string path, string prefix, out string rest)
    {
        if (path.StartsWith(prefix, StringComparison.Ordinal) && (path.Length == prefix.Length || path[prefix.Length] == '/'))
        {
            rest = path[prefix.Length..];
            return true;
        }

        rest = string.Empty;
        return false;
    }

    // "/clients/a%2Fb/" -> ["clients", "a%2Fb"]: one trailing slash is dropped (v3 paths end in '/'), inner empty
    // segments are kept for catch-all routes (/routes//test).
    private static List<string> SplitPath(string rest)
    {
        var segments = new List<string>();
        if (rest.EndsWith('/'))
        {
            rest = rest[..^1];
        }

        if (rest.StartsWith('/'))
        {
            rest = rest[1..];
        }

        if (rest.Length == 0)
        {
            return segments;
        }

        segments.AddRange(rest.Split('/'));
        return segments;
    }
}
