using System.Text.Json;
using Broker.Http.Routing;

namespace Broker.Http;

/// <summary>
/// A request matched to a route: the request, the route's values, the services behind the API, and the body parsed
/// on first use. A body that is not JSON ends the request with 400 and code 109.
/// </summary>
public sealed class ApiCall
{
    private JsonDocument? _body;
    private bool _bodyParsed;

    public ApiCall(ApiRequest request, RouteValues routeValues, ManagementContext context)
    {
        Request = request ?? throw new ArgumentNullException(nameof(request));
        RouteValues = routeValues ?? throw new ArgumentNullException(nameof(routeValues));
        Context = context ?? throw new ArgumentNullException(nameof(context));
    }

    public ApiRequest Request { get; }

    public RouteValues RouteValues { get; }

    /// <summary>The broker and everything else the routes read or change.</summary>
    public ManagementContext Context { get; }

    public QueryString Query => Request.Query;

    /// <summary>
    /// The JSON body, or a default element (<see cref="JsonValueKind.Undefined"/>) for an empty body. Throws a 400/109
    /// <see cref="ApiException"/> when the body is not JSON.
    /// </summary>
    public JsonElement Body
    {
        get
        {
            if (!_bodyParsed)
            {
                _bodyParsed = true;
                _body = ParseBody(Request.Body);
            }

            return _body?.RootElement ?? default;
        }
    }

    /// <summary>
    /// The request's parameters as EMQX merges them (query string, then the JSON object body): what single-object
    /// routes such as <c>mqtt/publish</c> read.
    /// </summary>
    public ApiParams Params => new(Body.ValueKind == JsonValueKind.Object ? Body : default, Query);

    /// <summary>A route value, for example <c>Route("clientid")</c>.</summary>
    public string Route(string name) => RouteValues[name];

    internal void DisposeBody() => _body?.Dispose();

    private static JsonDocument? ParseBody(ReadOnlyMemory<byte> body)
    {
        if (body.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }

        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
            // The parser accepts ill-formed UTF-8 and lone surrogate escapes ("\ud800") inside strings; reading one
            // later throws in the handler. Refuse them here, as any other body that is not JSON text.
            CheckStrings(document.RootElement);
            return document;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            document?.Dispose();
            ApiThrow.BadRequest(ResultCode.BodyNotJson, "Request body is not valid JSON");
            return null;
        }
    }

    /// <summary>Reads every string and property name once, so that one that cannot become a string throws now.</summary>
    private static void CheckStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    _ = property.Name;
                    CheckStrings(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in element.EnumerateArray())
                {
                    CheckStrings(item);
                }

                break;
        }
    }
}
