namespace Broker.Http.Routing;

/// <summary>Serves one matched request.</summary>
public delegate ValueTask<ApiResponse> AsyncRouteHandler(ApiCall call);

/// <summary>Serves one matched request synchronously (most routes only read broker state).</summary>
public delegate ApiResponse RouteHandler(ApiCall call);

/// <summary>One registered route: method, template, EMQX's name and description (for the API listing), handler.</summary>
public sealed record RouteEntry(string Method, RouteTemplate Template, string Name, string Description, AsyncRouteHandler Handler)
{
    /// <summary>Served without credentials (EMQX: <c>/emqx_prometheus</c>).</summary>
    public bool AllowAnonymous { get; init; }
}

/// <summary>
/// The routes of one API version. Registering is one line per route, grouped per resource in <c>Routes/*.cs</c>:
/// <code>routes.Get("/clients/{clientid}", "lookup_client", "Lookup a client in the cluster", LookupClient);</code>
/// Matching prefers the route with more literal segments, so <c>/clients/username/{username}</c> wins over
/// <c>/clients/{clientid}/{x}</c>; a path that matches with another method is still a 404, as in EMQX.
/// </summary>
public sealed class RouteTable
{
    private readonly List<RouteEntry> _routes = [];
    private RouteEntry[]? _byPrecedence;

    /// <summary>Routes in registration order (the order <c>GET /api/v4</c> lists them).</summary>
    public IReadOnlyList<RouteEntry> Routes => _routes;

    public RouteTable Get(string template, string name, string description, RouteHandler handler) => Map("GET", template, name, description, handler);

    public RouteTable Post(string template, string name, string description, RouteHandler handler) => Map("POST", template, name, description, handler);

    public RouteTable Put(string template, string name, string description, RouteHandler handler) => Map("PUT", template, name, description, handler);

    public RouteTable Delete(string template, string name, string description, RouteHandler handler) => Map("DELETE", template, name, description, handler);

    public RouteTable Map(string method, string template, string name, string description, RouteHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return MapAsync(method, template, name, description, call => ValueTask.FromResult(handler(call)));
    }

    /// <summary>A GET route served without credentials, as EMQX serves <c>/emqx_prometheus</c> to scrapers.</summary>
    public RouteTable GetAnonymous(string template, string name, string description, RouteHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new RouteEntry("GET", new RouteTemplate(template), name, description, call => ValueTask.FromResult(handler(call))) { AllowAnonymous = true });
    }

    public RouteTable MapAsync(string method, string template, string name, string description, AsyncRouteHandler handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new RouteEntry(method.ToUpperInvariant(), new RouteTemplate(template), name, description, handler));
    }

    private RouteTable Add(RouteEntry entry)
    {
        foreach (RouteEntry existing in _routes)
        {
            if (existing.Method == entry.Method && existing.Template.Text == entry.Template.Text)
            {
                throw new InvalidOperationException($"Route {entry.Method} {entry.Template.Text} is registered twice.");
            }
        }

        _routes.Add(entry);
        Volatile.Write(ref _byPrecedence, null);
        return this;
    }

    /// <summary>Finds the route for a method and raw path segments, or null.</summary>
    public RouteEntry? Match(string method, IReadOnlyList<string> rawSegments, out RouteValues values)
    {
        RouteEntry[] routes = Volatile.Read(ref _byPrecedence) ?? BuildPrecedence();
        foreach (RouteEntry route in routes)
        {
            if (route.Method == method && route.Template.TryMatch(rawSegments, out values))
            {
                return route;
            }
        }

        values = RouteValues.Empty;
        return null;
    }

    private RouteEntry[] BuildPrecedence()
    {
        RouteEntry[] sorted = [.. _routes];

        // Stable: more literals first, catch-alls last, then registration order.
        var order = new Dictionary<RouteEntry, int>(sorted.Length);
        for (int i = 0; i < sorted.Length; i++)
        {
            order[sorted[i]] = i;
        }

        Array.Sort(sorted, (a, b) =>
        {
            int byCatchAll = a.Template.HasCatchAll.CompareTo(b.Template.HasCatchAll);
            if (byCatchAll != 0)
            {
                return byCatchAll;
            }

            int byLiterals = b.Template.LiteralCount.CompareTo(a.Template.LiteralCount);
            return byLiterals != 0 ? byLiterals : order[a].CompareTo(order[b]);
        });
        Volatile.Write(ref _byPrecedence, sorted);
        return sorted;
    }
}
