using System.Net;
using System.Text;
using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Sessions;
using Broker.Core.Topics;

namespace Broker.Core.Rules;

public sealed partial class RuleEngine
{
    /// <summary>A matched rule's output waiting for its actions.</summary>
    private readonly record struct ActionJob(Rule Rule, Dictionary<string, object?> Selected, Dictionary<string, object?> Columns);

    private struct RuleCollector(List<Rule> matched) : ITopicMatchVisitor<Rule, byte>
    {
        public readonly void OnSubscriber(Rule key, in byte value)
        {
            // Two FROM filters of one rule may both match; the rule runs once.
            if (!matched.Contains(key))
            {
                matched.Add(key);
            }
        }

        public readonly void OnSharedGroup(SharedGroup<Rule, byte> group)
        {
        }
    }

    /// <summary>A published message (not $SYS, not republished by a rule): the rules whose FROM matches its topic.</summary>
    internal void OnMessagePublish(Message message)
    {
        TopicTrie<Rule, byte>? trie = Volatile.Read(ref _messageTrie);
        if (trie is null)
        {
            return;
        }

        List<Rule> matched = t_matched ??= new List<Rule>(4);
        matched.Clear();
        var collector = new RuleCollector(matched);
        trie.Match(message.TopicBytes, ref collector);
        if (matched.Count == 0)
        {
            return;
        }

        try
        {
            Run(matched, MessageColumns(message));
        }
        finally
        {
            matched.Clear();
        }
    }

    internal void OnClientConnected(MqttConnection connection)
    {
        long now = NowMilliseconds();
        Run(RuleEventKind.ClientConnected, new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["event"] = RuleEvents.EventName(RuleEventKind.ClientConnected),
            ["clientid"] = connection.ClientId,
            ["username"] = connection.UserName,
            ["mountpoint"] = null,
            ["peername"] = connection.Info.RemoteEndPoint?.ToString(),
            ["sockname"] = connection.Info.LocalEndPoint?.ToString(),
            ["proto_name"] = connection.Version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT",
            ["proto_ver"] = (long)connection.Version,
            ["keepalive"] = (long)connection.KeepAlive,
            ["clean_start"] = connection.CleanStart,
            ["expiry_interval"] = (long)connection.SessionExpiryInterval,
            ["is_bridge"] = false,
            ["connected_at"] = connection.ConnectedAt.ToUnixTimeMilliseconds(),
            ["timestamp"] = now,
            ["node"] = _broker.Options.NodeName,
        });
    }

    internal void OnClientDisconnected(MqttConnection connection, DisconnectReason reason)
    {
        long now = NowMilliseconds();
        Run(RuleEventKind.ClientDisconnected, new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["event"] = RuleEvents.EventName(RuleEventKind.ClientDisconnected),
            ["reason"] = ReasonName(reason),
            ["clientid"] = connection.ClientId,
            ["username"] = connection.UserName,
            ["peername"] = connection.Info.RemoteEndPoint?.ToString(),
            ["sockname"] = connection.Info.LocalEndPoint?.ToString(),
            ["disconnected_at"] = now,
            ["timestamp"] = now,
            ["node"] = _broker.Options.NodeName,
        });
    }

    internal void OnSessionSubscription(RuleEventKind kind, MqttConnection connection, string topicFilter, QualityOfService qos)
    {
        Run(kind, new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["event"] = RuleEvents.EventName(kind),
            ["clientid"] = connection.ClientId,
            ["username"] = connection.UserName,
            ["peerhost"] = Host(connection.Info.RemoteEndPoint),
            ["topic"] = topicFilter,
            ["qos"] = (long)qos,
            ["timestamp"] = NowMilliseconds(),
            ["node"] = _broker.Options.NodeName,
        });
    }

    /// <summary>message_delivered / message_acked: a message going to, or acknowledged by, <paramref name="session"/>.</summary>
    internal void OnMessageToClient(RuleEventKind kind, Session session, Message message, QualityOfService qos)
    {
        Dictionary<string, object?> columns = MessageColumns(message);
        MqttConnection? connection = session.Connection;
        columns["event"] = RuleEvents.EventName(kind);
        columns["from_clientid"] = message.PublisherClientId;
        columns["from_username"] = message.PublisherUserName;
        columns["clientid"] = session.ClientId;
        columns["username"] = connection?.UserName;
        columns["peerhost"] = connection is null ? null : Host(connection.Info.RemoteEndPoint);
        columns["qos"] = (long)qos;
        columns["timestamp"] = NowMilliseconds();
        Run(kind, columns);
    }

    internal void OnMessageDropped(Message message, string reason)
    {
        Dictionary<string, object?> columns = MessageColumns(message);
        columns["event"] = RuleEvents.EventName(RuleEventKind.MessageDropped);
        columns["reason"] = reason;
        columns["timestamp"] = NowMilliseconds();
        Run(RuleEventKind.MessageDropped, columns);
    }

    private void Run(RuleEventKind kind, Dictionary<string, object?> columns)
    {
        Rule[] rules = Volatile.Read(ref _byEvent)[(int)kind];
        if (rules.Length > 0)
        {
            Run(rules, columns);
        }
    }

    private void Run(IReadOnlyList<Rule> rules, Dictionary<string, object?> columns)
    {
        DateTimeOffset now = _broker.TimeProvider.GetUtcNow();
        for (int i = 0; i < rules.Count; i++)
        {
            Rule rule = rules[i];
            Dictionary<string, object?>? selected;
            try
            {
                selected = rule.Sql.Evaluate(new RuleScope(columns) { Now = now });
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A rule that cannot evaluate this event (a value of an unexpected shape) simply does not match.
                BrokerLog.RuleEvaluationFailed(_broker.Logger, rule.Id, ex.Message);
                continue;
            }

            if (selected is null)
            {
                continue;
            }

            rule.CountMatch();
            _broker.Counters.Increment(CounterId.RulesMatched);
            if (rule.Actions.Count == 0)
            {
                continue;
            }

            if (_queue.Writer.TryWrite(new ActionJob(rule, selected, columns)))
            {
                Volatile.Write(ref _queueFullLogged, 0);
                continue;
            }

            foreach (RuleAction action in rule.Actions)
            {
                action.CountFailure();
            }

            _broker.Counters.Add(CounterId.ActionsFailure, rule.Actions.Count);
            if (Interlocked.Exchange(ref _queueFullLogged, 1) == 0)
            {
                BrokerLog.RuleQueueFull(_broker.Logger, rule.Id);
            }
        }
    }

    private Dictionary<string, object?> MessageColumns(Message message)
    {
        long timestamp = message.Timestamp != 0 ? message.Timestamp : NowMilliseconds();
        EndPoint? peer = (message.Publisher as Session)?.Connection?.Info.RemoteEndPoint;
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["id"] = Guid.NewGuid().ToString("N").ToUpperInvariant(),
            ["clientid"] = message.PublisherClientId,
            ["username"] = message.PublisherUserName,
            ["payload"] = Encoding.UTF8.GetString(message.Payload),
            ["peerhost"] = Host(peer),
            ["topic"] = message.Topic,
            ["qos"] = (long)message.QoS,
            ["retain"] = message.Retain,
            ["flags"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["retain"] = message.Retain, ["dup"] = false },
            ["timestamp"] = timestamp,
            ["publish_received_at"] = timestamp,
            ["node"] = _broker.Options.NodeName,
        };
    }

    private long NowMilliseconds() => _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    private static string? Host(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => ip.Address.ToString(),
        null => null,
        _ => endPoint.ToString(),
    };

    // EMQX 4.4's disconnect reasons.
    private static string ReasonName(DisconnectReason reason) => reason switch
    {
        DisconnectReason.ClientDisconnect or DisconnectReason.ClientDisconnectWithWill => "normal",
        DisconnectReason.TransportClosed => "tcp_closed",
        DisconnectReason.TransportError => "tcp_error",
        DisconnectReason.KeepAliveTimeout => "keepalive_timeout",
        DisconnectReason.TakenOver => "takeovered",
        DisconnectReason.Kicked => "kicked",
        DisconnectReason.ServerShutdown => "shutdown",
        DisconnectReason.NotAuthorized => "not_authorized",
        DisconnectReason.MalformedPacket => "frame_error",
        DisconnectReason.ProtocolError => "protocol_error",
        _ => reason.ToString(),
    };

    private async Task ProcessQueueAsync()
    {
        CancellationToken stopping = _stopping.Token;
        try
        {
            await foreach (ActionJob job in _queue.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                foreach (RuleAction action in job.Rule.Actions)
                {
                    try
                    {
                        await ExecuteAsync(job, action, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        Fail(job.Rule, action, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Broker shutdown.
        }
    }

    private void Succeed(RuleAction action)
    {
        action.CountSuccess();
        _broker.Counters.Increment(CounterId.ActionsSuccess);
    }

    private void Fail(Rule rule, RuleAction action, string reason)
    {
        action.CountFailure();
        _broker.Counters.Increment(CounterId.ActionsFailure);
        BrokerLog.RuleActionFailed(_broker.Logger, rule.Id, action.Id, reason);
    }

    private async ValueTask ExecuteAsync(ActionJob job, RuleAction action, CancellationToken stopping)
    {
        switch (action.Name)
        {
            case "do_nothing":
                Succeed(action);
                return;
            case "inspect":
                BrokerLog.RuleInspect(_broker.Logger, job.Rule.Id, RuleValues.ToJson(job.Selected), RuleValues.ToJson(job.Columns), action.Parameters.GetRawText());
                Succeed(action);
                return;
            case "republish":
                Republish(job, action);
                return;
            default:
                RuleResource? resource = FindResource(action.ResourceId!);
                if (resource is null)
                {
                    Fail(job.Rule, action, $"resource {action.ResourceId} not found");
                    return;
                }

                await _webHookSlots.WaitAsync(stopping).ConfigureAwait(false);
                _ = SendWebHookAsync(job, action, resource, stopping);
                return;
        }
    }

    private void Republish(ActionJob job, RuleAction action)
    {
        string topic = action.TopicTemplate!.Render(job.Selected, job.Columns);
        byte[] topicBytes = Encoding.UTF8.GetBytes(topic);
        if (!TopicValidator.IsValidTopicName(topicBytes, _broker.Options.MaximumTopicLevels) || topic.StartsWith("$SYS/", StringComparison.Ordinal))
        {
            Fail(job.Rule, action, $"republish: '{topic}' is not a topic a rule may publish to");
            return;
        }

        int qos = action.TargetQoS;
        if (qos < 0)
        {
            qos = job.Columns.TryGetValue("qos", out object? q) && q is long l ? (int)l : 0;
        }

        byte[] payload = Encoding.UTF8.GetBytes(action.PayloadTemplate!.Render(job.Selected, job.Columns));
        var message = new Message(topicBytes, payload, (QualityOfService)qos, action.TargetRetain)
        {
            PublisherClientId = job.Columns.TryGetValue("clientid", out object? id) ? id as string : null,
            PublisherUserName = job.Columns.TryGetValue("username", out object? user) ? user as string : null,
            Timestamp = NowMilliseconds(),
            FromRule = true,
        };
        _broker.PublishFromRule(message);
        Succeed(action);
    }

    private async Task SendWebHookAsync(ActionJob job, RuleAction action, RuleResource resource, CancellationToken stopping)
    {
        try
        {
            string body = action.PayloadTemplate!.IsEmpty ? RuleValues.ToJson(job.Selected) : action.PayloadTemplate.Render(job.Selected, job.Columns);
            Uri url = resource.Url;
            string path = action.PathTemplate!.Render(job.Selected, job.Columns);
            if (path.Length > 0)
            {
                url = new Uri(resource.Url.GetLeftPart(UriPartial.Authority) + "/" + (resource.Url.AbsolutePath.Trim('/') + "/" + path.TrimStart('/')).TrimStart('/'));
            }

            using var request = new HttpRequestMessage(new HttpMethod(action.Method ?? resource.Method), url)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            foreach (KeyValuePair<string, string> header in (IEnumerable<KeyValuePair<string, string>>)[.. resource.Headers, .. action.Headers])
            {
                if (string.Equals(header.Key, "content-type", StringComparison.OrdinalIgnoreCase))
                {
                    request.Content.Headers.Remove("Content-Type");
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", header.Value);
                }
                else
                {
                    request.Headers.Remove(header.Key);
                    request.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(resource.Timeout);
            using HttpResponseMessage response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                Succeed(action);
            }
            else
            {
                Fail(job.Rule, action, $"web hook answered {(int)response.StatusCode}");
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (!stopping.IsCancellationRequested)
            {
                Fail(job.Rule, action, ex is OperationCanceledException ? "web hook timed out" : ex.Message);
            }
        }
        finally
        {
            _webHookSlots.Release();
        }
    }

    private HttpClient Http
    {
        get
        {
            HttpClient? http = Volatile.Read(ref _http);
            if (http is not null)
            {
                return http;
            }

            var created = new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectTimeout = TimeSpan.FromSeconds(5),
                AllowAutoRedirect = false,
            })
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
            HttpClient? raced = Interlocked.CompareExchange(ref _http, created, null);
            if (raced is not null)
            {
                created.Dispose();
                return raced;
            }

            return created;
        }
    }
}
