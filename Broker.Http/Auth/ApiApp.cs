using System.Text.Json.Serialization;

namespace Broker.Http.Auth;

/// <summary>
/// An application allowed to call the API (EMQX's <c>mqtt_app</c>: id, secret, name, desc, status, expired). The
/// secret is kept only as a salted hash.
/// </summary>
public sealed record ApiApp
{
    [JsonPropertyName("app_id")]
    public required string AppId { get; init; }

    [JsonPropertyName("name")]
    public string Name { get; init; } = string.Empty;

    [JsonPropertyName("desc")]
    public string Description { get; init; } = string.Empty;

    /// <summary>False: disabled, its credentials are refused.</summary>
    [JsonPropertyName("status")]
    public bool Status { get; init; } = true;

    /// <summary>Unix seconds after which the app is refused; null for never.</summary>
    [JsonPropertyName("expired")]
    public long? Expired { get; init; }

    /// <summary><see cref="SecretHasher"/>'s form.</summary>
    [JsonPropertyName("secret_hash")]
    public required string SecretHash { get; init; }
}
