using Broker.Http.Channel;
using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// <c>/channel/...</c>: the cloud-edge channel's users, broker clusters and edge services, managed by an API app
/// (Basic auth). Lists never show passwords or upstream credentials. 404 while the channel is off.
/// </summary>
internal static class ChannelRoutes
{
    public static void Map(RouteTable routes)
    {
        routes
            .Get("/channel/users", "list_channel_users", "List cloud-edge channel users", ListUsers)
            .Post("/channel/users", "add_channel_user", "Add a cloud-edge channel user", AddUser)
            .Delete("/channel/users/{username}", "del_channel_user", "Delete a cloud-edge channel user", DeleteUser)
            .Get("/channel/clusters", "list_channel_clusters", "List the clusters of the cloud-edge channel", call => ListTargets(call, ChannelTargetKind.Cluster))
            .Post("/channel/clusters", "add_channel_cluster", "Register a cluster for the cloud-edge channel", call => AddTarget(call, ChannelTargetKind.Cluster))
            .Delete("/channel/clusters/{id}", "del_channel_cluster", "Remove a cluster from the cloud-edge channel", call => DeleteTarget(call, ChannelTargetKind.Cluster))
            .Get("/channel/edge_services", "list_channel_edge_services", "List the edge services of the cloud-edge channel", call => ListTargets(call, ChannelTargetKind.EdgeService))
            .Post("/channel/edge_services", "add_channel_edge_service", "Register an edge service for the cloud-edge channel", call => AddTarget(call, ChannelTargetKind.EdgeService))
            .Delete("/channel/edge_services/{id}", "del_channel_edge_service", "Remove an edge service from the cloud-edge channel", call => DeleteTarget(call, ChannelTargetKind.EdgeService));
    }

    private static CloudEdgeChannel Channel(ApiCall call)
    {
        if (call.Context.Channel is not { } channel)
        {
            ApiThrow.With(ApiResponse.NotFound());
            return null!;
        }

        return channel;
    }

    private static ApiResponse ListUsers(ApiCall call)
    {
        var users = new List<ChannelUserDto>();
        foreach (ChannelUser user in Channel(call).Registry.ListUsers())
        {
            users.Add(new ChannelUserDto(user.Username, user.FromConfig ? "config" : "api"));
        }

        return V4.Ok<IReadOnlyList<ChannelUserDto>>(users, HttpJsonContext.Default.IReadOnlyListChannelUserDto);
    }

    private static ApiResponse AddUser(ApiCall call)
    {
        CloudEdgeChannel channel = Channel(call);
        ApiParams p = call.Params;
        if (p.TryGetString("username", out string? username) != ParamStatus.Ok || p.TryGetString("password", out string? password) != ParamStatus.Ok
            || string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            return V4.Error(ResultCode.EmptyUsernameOrPassword, "username and password are required");
        }

        if (channel.Registry.UserExists(username))
        {
            return V4.Error(ResultCode.UserAlreadyExists, "user already exists");
        }

        return channel.Registry.AddUser(username, password) ? V4.Ok() : V4.Error(ResultCode.BadParameter, "username must be 1 to 128 letters, digits or _-.:@");
    }

    private static ApiResponse DeleteUser(ApiCall call)
    {
        CloudEdgeChannel channel = Channel(call);
        string username = call.Route("username");
        if (!channel.Registry.DeleteUser(username))
        {
            return V4.Error(ResultCode.UserNotFound, "user not found");
        }

        channel.Tokens.RevokeUser(username);
        return V4.Ok();
    }

    private static ApiResponse ListTargets(ApiCall call, ChannelTargetKind kind)
    {
        var targets = new List<ChannelTargetDto>();
        if (kind == ChannelTargetKind.Cluster)
        {
            targets.Add(new ChannelTargetDto(ChannelRegistry.LocalClusterId, ChannelRegistry.LocalClusterId, null, "builtin"));
        }

        foreach (ChannelTarget target in Channel(call).Registry.ListTargets(kind))
        {
            targets.Add(new ChannelTargetDto(target.Id, target.Url, target.Username, target.FromConfig ? "config" : "api"));
        }

        return V4.Ok<IReadOnlyList<ChannelTargetDto>>(targets, HttpJsonContext.Default.IReadOnlyListChannelTargetDto);
    }

    private static ApiResponse AddTarget(ApiCall call, ChannelTargetKind kind)
    {
        CloudEdgeChannel channel = Channel(call);
        ApiParams p = call.Params;
        if (p.TryGetString("id", out string? id) != ParamStatus.Ok || p.TryGetString("url", out string? url) != ParamStatus.Ok
            || string.IsNullOrEmpty(id) || string.IsNullOrEmpty(url))
        {
            return V4.Error(ResultCode.MissingParameter, "id and url are required");
        }

        if (p.TryGetString("username", out string? username) == ParamStatus.Invalid || p.TryGetString("password", out string? password) == ParamStatus.Invalid)
        {
            return V4.Error(ResultCode.BadParameter, "username and password must be strings");
        }

        string? error = channel.Registry.AddTarget(kind, new ChannelTarget { Id = id, Url = url, Username = username, Password = password });
        return error switch
        {
            null => V4.Ok(),
            "already exists" => V4.Message("existed"),
            _ => V4.Error(ResultCode.BadParameter, error),
        };
    }

    private static ApiResponse DeleteTarget(ApiCall call, ChannelTargetKind kind)
        => Channel(call).Registry.DeleteTarget(kind, call.Route("id")) ? V4.Ok() : V4.Error(ResultCode.BadParameter, "not found");
}
