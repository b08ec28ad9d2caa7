using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Broker.Core;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Topics;
using Broker.Http.Json;
using Broker.Http.Routing;

namespace Broker.Http.Routes;

/// <summary>
/// <c>/mqtt/publish</c>, <c>/mqtt/subscribe</c>, <c>/mqtt/unsubscribe</c> and their batch forms, as EMQX 4.4's
/// <c>emqx_mgmt_api_pubsub</c> reads them: <c>topic</c> or comma-separated <c>topics</c> (invalid names dropped, none left
/// is 115), <c>clientid</c>, <c>payload</c> with <c>encoding</c> plain or base64, <c>qos</c>, <c>retain</c>,
/// <c>properties</c>. The v3 routes share this with <c>client_id</c> for <c>clientid</c>.
/// </summary>
internal static class PubSubRoutes
{
    private static readonly HashSet<string> s_propertyKeys = new(StringComparer.Ordinal)
    {
        "payload_format_indicator", "message_expiry_interval", "response_topic", "correlation_data", "user_properties",
        "subscription_identifier", "content_type",
    };

    public static void Map(RouteTable routes)
    {
        routes
            .Post("/mqtt/publish", "mqtt_publish", "Publish a MQTT message", Publish)
            .Post("/mqtt/publish_batch", "mqtt_publish_batch", "Publish MQTT messages in batch", PublishBatch)
            .Post("/mqtt/subscribe", "mqtt_subscribe", "Subscribe a topic", Subscribe)
            .Post("/mqtt/unsubscribe", "mqtt_unsubscribe", "Unsubscribe a topic", Unsubscribe)
            .Post("/mqtt/subscribe_batch", "mqtt_subscribe_batch", "Subscribe topics in batch", SubscribeBatch)
            .Post("/mqtt/unsubscribe_batch", "mqtt_unsubscribe_batch", "Unsubscribe topics in batch", UnsubscribeBatch);
    }

    /// <summary>The outcome of one publish, subscribe or unsubscribe: a result code and its message.</summary>
    public readonly record struct Outcome(int Code, string? Message, IReadOnlyList<string>? MessageIds = null)
    {
        public static Outcome Ok { get; } = new(ResultCode.Ok, null);

        public ApiResponse ToV4(bool returnIds, bool single)
        {
            if (Code != ResultCode.Ok)
            {
                return V4.Error(Code, Message ?? string.Empty, status: Code == ResultCode.BadQoS && single ? 400 : 200);
            }

            if (!returnIds || MessageIds is null)
            {
                return V4.Ok();
            }

            return MessageIds.Count == 1
                ? V4.Ok(new MessageIdDto(MessageIds[0]), HttpJsonContext.Default.MessageIdDto)
                : V4.Ok(new MessageIdsDto(MessageIds), HttpJsonContext.Default.MessageIdsDto);
        }
    }

    private static ApiResponse Publish(ApiCall call)
    {
        ApiParams p = call.Params;
        Outcome outcome = DoPublish(call.Context.Broker, p, "clientid");

        // EMQX crashes (500) on an out-of-range QoS here; a clean 400 with code 116 says what is wrong.
        return outcome.ToV4(returnIds: p.Has("return"), single: true);
    }

    private static ApiResponse PublishBatch(ApiCall call)
    {
        JsonElement body = call.Body;
        if (body.ValueKind != JsonValueKind.Array)
        {
            return V4.Error(ResultCode.BadParameter, "bad_params");
        }

        var results = new List<PublishBatchItemDto>(body.GetArrayLength());
        foreach (JsonElement item in body.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                results.Add(new PublishBatchItemDto(null, ResultCode.BadParameter, "bad_params"));
                continue;
            }

            var p = new ApiParams(item);
            Outcome outcome = DoPublish(call.Context.Broker, p, "clientid");
            results.Add(new PublishBatchItemDto(TopicParameter(p), outcome.Code, null));
        }

        return V4.Ok<IReadOnlyList<PublishBatchItemDto>>(results, HttpJsonContext.Default.IReadOnlyListPublishBatchItemDto);
    }

    private static ApiResponse Subscribe(ApiCall call) => DoSubscribe(call.Context, call.Params, "clientid").ToV4(returnIds: false, single: false);

    private static ApiResponse Unsubscribe(ApiCall call) => DoUnsubscribe(call.Context, call.Params, "clientid").ToV4(returnIds: false, single: false);

    private static ApiResponse SubscribeBatch(ApiCall call) => Batch(call, subscribe: true);

    private static ApiResponse UnsubscribeBatch(ApiCall call) => Batch(call, subscribe: false);

    private static ApiResponse Batch(ApiCall call, bool subscribe)
    {
        JsonElement body = call.Body;
        if (body.ValueKind != JsonValueKind.Array)
        {
            return V4.Error(ResultCode.BadParameter, "bad_params");
        }

        var results = new List<SubscribeBatchItemDto>(body.GetArrayLength());
        foreach (JsonElement item in body.EnumerateArray())
        {
            var p = new ApiParams(item);
            Outcome outcome = item.ValueKind != JsonValueKind.Object
                ? new Outcome(ResultCode.BadParameter, "bad_params")
                : subscribe ? DoSubscribe(call.Context, p, "clientid") : DoUnsubscribe(call.Context, p, "clientid");
            p.TryGetString("clientid", out string? clientId);
            results.Add(new SubscribeBatchItemDto(clientId, TopicParameter(p), outcome.Code));
        }

        return V4.Ok<IReadOnlyList<SubscribeBatchItemDto>>(results, HttpJsonContext.Default.IReadOnlyListSubscribeBatchItemDto);
    }

    /// <summary>Publishes to every valid topic of <c>topic</c>/<c>topics</c>.</summary>
    /// <param name="broker">The broker.</param>
    /// <param name="p">The parameters.</param>
    /// <param name="clientIdName"><c>clientid</c> (v4) or <c>client_id</c> (v3).</param>
    /// <param name="defaultClientId">The publisher when none is given (v3: <c>http</c>).</param>
    public static Outcome DoPublish(MqttBroker broker, ApiParams p, string clientIdName, string? defaultClientId = null)
    {
        List<byte[]> topics = ReadTopics(p, filters: false, broker.Options.MaximumTopicLevels);
        if (topics.Count == 0)
        {
            return new Outcome(ResultCode.BadTopic, "bad_topic");
        }

        if (p.TryGetString(clientIdName, out string? clientId) == ParamStatus.Invalid)
        {
            return new Outcome(ResultCode.BadParameter, $"{clientIdName} must be a string");
        }

        clientId ??= defaultClientId;
        if (!TryReadQoS(p, out QualityOfService qos, out Outcome error))
        {
            return error;
        }

        ParamStatus retainStatus = p.TryGetBool("retain", out bool retain);
        if (retainStatus == ParamStatus.Invalid)
        {
            return new Outcome(ResultCode.BadParameter, "retain must be true or false");
        }

        if (!TryReadPayload(p, out byte[] payload, out error) || !TryReadProperties(p, out byte[] properties, out uint expiry, out error))
        {
            return error;
        }

        long expiresAt = expiry == 0 ? 0 : broker.TimeProvider.GetTimestamp() + (expiry * broker.TimeProvider.TimestampFrequency);
        long timestamp = broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var ids = new List<string>(topics.Count);
        foreach (byte[] topic in topics)
        {
            broker.Publish(new Message(topic, payload, qos, retain, properties)
            {
                PublisherClientId = clientId,
                ExpiresAt = expiresAt,
                Timestamp = timestamp,
            });
            ids.Add(Guid.NewGuid().ToString("N").ToUpperInvariant());
        }

        return new Outcome(ResultCode.Ok, null, ids);
    }

    /// <summary>Subscribes an online client to every valid filter of <c>topic</c>/<c>topics</c>.</summary>
    public static Outcome DoSubscribe(ManagementContext context, ApiParams p, string clientIdName)
    {
        if (!TryReadClientId(p, clientIdName, out string clientId, out Outcome error))
        {
            return error;
        }

        List<byte[]> filters = ReadTopics(p, filters: true, context.Broker.Options.MaximumTopicLevels);
        if (filters.Count == 0)
        {
            return new Outcome(ResultCode.BadTopic, "bad_topic");
        }

        if (!TryReadQoS(p, out QualityOfService qos, out error))
        {
            return error;
        }

        if (context.Broker.GetClient(clientId) is null)
        {
            return new Outcome(ResultCode.ClientNotOnline, "channel_not_found");
        }

        foreach (byte[] filter in filters)
        {
            ReasonCode? code = context.Broker.Subscribe(clientId, Encoding.UTF8.GetString(filter), qos);
            if (code is null)
            {
                return new Outcome(ResultCode.ClientNotOnline, "channel_not_found");
            }

            if ((byte)code.Value >= 0x80)
            {
                return new Outcome(ResultCode.BadTopic, "subscribe refused: " + code.Value);
            }
        }

        return Outcome.Ok;
    }

    /// <summary>Removes an online client's subscriptions to every filter of <c>topic</c>/<c>topics</c>.</summary>
    public static Outcome DoUnsubscribe(ManagementContext context, ApiParams p, string clientIdName)
    {
        if (!TryReadClientId(p, clientIdName, out string clientId, out Outcome error))
        {
            return error;
        }

        List<byte[]> filters = ReadTopics(p, filters: true, context.Broker.Options.MaximumTopicLevels);
        if (filters.Count == 0)
        {
            return new Outcome(ResultCode.BadTopic, "bad_topic");
        }

        if (context.Broker.GetClient(clientId) is null)
        {
            return new Outcome(ResultCode.ClientNotOnline, "channel_not_found");
        }

        foreach (byte[] filter in filters)
        {
            context.Broker.Unsubscribe(clientId, Encoding.UTF8.GetString(filter));
        }

        return Outcome.Ok;
    }

    /// <summary><c>topic</c> as given, else <c>topics</c>, for the batch results.</summary>
    private static string? TopicParameter(ApiParams p)
        => p.TryGetString("topic", out string? topic) == ParamStatus.Ok ? topic
            : p.TryGetString("topics", out string? topics) == ParamStatus.Ok ? topics : null;

    private static bool TryReadClientId(ApiParams p, string name, out string clientId, out Outcome error)
    {
        clientId = string.Empty;
        switch (p.TryGetString(name, out string? value))
        {
            case ParamStatus.Missing:
                error = new Outcome(ResultCode.MissingParameter, $"missing {name}");
                return false;
            case ParamStatus.Invalid:
                error = new Outcome(ResultCode.BadParameter, $"{name} must be a string");
                return false;
        }

        clientId = value!;
        error = Outcome.Ok;
        return true;
    }

    // topic, or a comma-separated topics; names (or filters) that are not valid are dropped, as EMQX does.
    private static List<byte[]> ReadTopics(ApiParams p, bool filters, int maxLevels)
    {
        var result = new List<byte[]>();
        if (p.TryGetString("topic", out string? topic) == ParamStatus.Ok && topic is not null)
        {
            Add(topic);
        }

        if (p.TryGetString("topics", out string? topics) == ParamStatus.Ok && topics is not null)
        {
            foreach (string part in topics.Split(','))
            {
                Add(part.Trim());
            }
        }

        return result;

        void Add(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            bool valid = filters ? IsValidFilter(bytes, maxLevels) : TopicValidator.IsValidTopicName(bytes, maxLevels);
            if (valid && !result.Exists(existing => existing.AsSpan().SequenceEqual(bytes)))
            {
                result.Add(bytes);
            }
        }
    }

    private static bool IsValidFilter(byte[] filter, int maxLevels)
        => TopicValidator.ParseShared(filter, out _, out ReadOnlySpan<byte> inner) switch
        {
            SharedParseResult.Shared => TopicValidator.IsValidTopicFilter(inner, maxLevels),
            SharedParseResult.NotShared => TopicValidator.IsValidTopicFilter(filter, maxLevels),
            _ => false,
        };

    private static bool TryReadQoS(ApiParams p, out QualityOfService qos, out Outcome error)
    {
        qos = QualityOfService.AtMostOnce;
        error = Outcome.Ok;
        switch (p.TryGetInt("qos", out int value))
        {
            case ParamStatus.Invalid:
                error = new Outcome(ResultCode.BadParameter, "qos must be an integer");
                return false;
            case ParamStatus.Ok when value is < 0 or > 2:
                error = new Outcome(ResultCode.BadQoS, "bad_qos");
                return false;
            case ParamStatus.Ok:
                qos = (QualityOfService)value;
                break;
        }

        return true;
    }

    private static bool TryReadPayload(ApiParams p, out byte[] payload, out Outcome error)
    {
        payload = [];
        error = Outcome.Ok;
        string encoding = "plain";
        switch (p.TryGetString("encoding", out string? given))
        {
            case ParamStatus.Invalid:
                error = new Outcome(ResultCode.BadParameter, "encoding must be plain or base64");
                return false;
            case ParamStatus.Ok:
                encoding = given!;
                break;
        }

        if (encoding is not ("plain" or "base64"))
        {
            error = new Outcome(ResultCode.BadParameter, "encoding must be plain or base64");
            return false;
        }

        string? text;
        if (p.TryGetJson("payload", out JsonElement json))
        {
            // A JSON object or array payload is sent as its JSON text, as EMQX re-encodes it.
            text = json.ValueKind == JsonValueKind.String ? json.GetString() : json.GetRawText();
        }
        else
        {
            p.TryGetString("payload", out text);
        }

        text ??= string.Empty;
        if (encoding == "plain")
        {
            payload = Encoding.UTF8.GetBytes(text);
            return true;
        }

        try
        {
            payload = Convert.FromBase64String(text);
            return true;
        }
        catch (FormatException)
        {
            error = new Outcome(ResultCode.BadParameter, "payload is not valid base64");
            return false;
        }
    }

    /// <summary>
    /// The v5 <c>properties</c> object, encoded as the forwardable property bytes a <see cref="Message"/> carries;
    /// <c>message_expiry_interval</c> becomes the message's expiry instead. An unknown key is 108 <c>bad_params</c>.
    /// </summary>
    private static bool TryReadProperties(ApiParams p, out byte[] encoded, out uint expiry, out Outcome error)
    {
        encoded = [];
        expiry = 0;
        error = Outcome.Ok;
        JsonElement userProperties = default;
        bool hasProperties = p.TryGetJson("properties", out JsonElement properties);
        if (hasProperties && properties.ValueKind != JsonValueKind.Object)
        {
            error = new Outcome(ResultCode.BadParameter, "bad_params");
            return false;
        }

        var writer = new ArrayBufferWriter<byte>();
        if (hasProperties)
        {
            foreach (JsonProperty property in properties.EnumerateObject())
            {
                if (!s_propertyKeys.Contains(property.Name))
                {
                    error = new Outcome(ResultCode.BadParameter, "bad_params");
                    return false;
                }
            }

            if (properties.TryGetProperty("payload_format_indicator", out JsonElement pfi))
            {
                if (!pfi.TryGetByte(out byte value) || value > 1)
                {
                    error = new Outcome(ResultCode.BadParameter, "bad_params");
                    return false;
                }

                WriteByte(writer, 0x01, value);
            }

            if (properties.TryGetProperty("message_expiry_interval", out JsonElement mei) && !mei.TryGetUInt32(out expiry))
            {
                error = new Outcome(ResultCode.BadParameter, "bad_params");
                return false;
            }

            if (!TryWriteString(writer, properties, "content_type", 0x03)
                || !TryWriteString(writer, properties, "response_topic", 0x08)
                || !TryWriteString(writer, properties, "correlation_data", 0x09))
            {
                error = new Outcome(ResultCode.BadParameter, "bad_params");
                return false;
            }

            properties.TryGetProperty("user_properties", out userProperties);
        }

        // A top-level user_properties is accepted too (EMQX's legacy form).
        if (userProperties.ValueKind == JsonValueKind.Undefined)
        {
            p.TryGetJson("user_properties", out userProperties);
        }

        if (userProperties.ValueKind != JsonValueKind.Undefined)
        {
            if (userProperties.ValueKind != JsonValueKind.Object)
            {
                error = new Outcome(ResultCode.BadParameter, "user_properties must be an object");
                return false;
            }

            foreach (JsonProperty pair in userProperties.EnumerateObject())
            {
                string value = pair.Value.ValueKind == JsonValueKind.String ? pair.Value.GetString()! : pair.Value.GetRawText();
                WriteByte(writer, 0x26, null);
                WriteUtf8(writer, pair.Name);
                WriteUtf8(writer, value);
            }
        }

        encoded = writer.WrittenSpan.ToArray();
        return true;
    }

    private static bool TryWriteString(ArrayBufferWriter<byte> writer, JsonElement properties, string name, byte id)
    {
        if (!properties.TryGetProperty(name, out JsonElement value))
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        WriteByte(writer, id, null);
        WriteUtf8(writer, value.GetString()!);
        return true;
    }

    private static void WriteByte(ArrayBufferWriter<byte> writer, byte id, byte? value)
    {
        Span<byte> span = writer.GetSpan(2);
        span[0] = id;
        if (value is { } v)
        {
            span[1] = v;
            writer.Advance(2);
        }
        else
        {
            writer.Advance(1);
        }
    }

    private static void WriteUtf8(ArrayBufferWriter<byte> writer, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        if (length > ushort.MaxValue)
        {
            throw new ApiException(V4.Error(ResultCode.BadParameter, "property value too long"));
        }

        Span<byte> span = writer.GetSpan(2 + length);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)length);
        Encoding.UTF8.GetBytes(value, span[2..]);
        writer.Advance(2 + length);
    }
}
