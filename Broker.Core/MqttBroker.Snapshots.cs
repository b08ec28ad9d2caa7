using System.Net;
using Broker.Core.Connections;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Sessions;
using Broker.Core.Snapshots;
using Broker.Core.Topics;

namespace Broker.Core;

// Read-only views for the management API and embedding code. Each call copies what it reports, so a caller may hold
// and page through the result while the broker keeps running; none of this is on the publish path.
public sealed partial class MqttBroker
{
    /// <summary>Every connected client, in no particular order.</summary>
    public IReadOnlyList<ClientSnapshot> GetClients()
    {
        MqttConnection[] connections = _connections.Rent(out int count);
        try
        {
            var clients = new List<ClientSnapshot>(count);
            foreach (MqttConnection connection in connections.AsSpan(0, count))
            {
                if (TrySnapshot(connection) is { } client)
                {
                    clients.Add(client);
                }
            }

            return clients;
        }
        finally
        {
            ConnectionList.Return(connections);
        }
    }

    /// <summary>The connected client with this id, or null.</summary>
    public ClientSnapshot? GetClient(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        return Sessions.Find(clientId)?.Connection is { } connection ? TrySnapshot(connection) : null;
    }

    /// <summary>Every session, connected or waiting for its client to come back.</summary>
    public IReadOnlyList<SessionSnapshot> GetSessions()
    {
        ICollection<Session> sessions = Sessions.Snapshot();
        var result = new List<SessionSnapshot>(sessions.Count);
        foreach (Session session in sessions)
        {
            result.Add(Snapshot(session));
        }

        return result;
    }

    /// <summary>The session of this client id, or null.</summary>
    public SessionSnapshot? GetSession(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        return Sessions.Find(clientId) is { } session ? Snapshot(session) : null;
    }

    /// <summary>Every subscription of every session.</summary>
    public IReadOnlyList<SubscriptionSnapshot> GetSubscriptions()
    {
        var result = new List<SubscriptionSnapshot>();
        foreach (Session session in Sessions.Snapshot())
        {
            AddSubscriptions(session, result);
        }

        return result;
    }

    /// <summary>
    /// One page of every subscription, in session-table order (sessions in <see cref="SessionTable.Enumerate"/> order,
    /// each session's subscriptions in the order they were made), with the total. Sessions wholly before the page are
    /// skipped by their subscription count, never copied: page 10,000 of 200,000 costs a walk of the session table and
    /// the snapshots of its own rows only.
    /// </summary>
    public IReadOnlyList<SubscriptionSnapshot> GetSubscriptionsPage(long offset, int limit, out long total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var page = new List<SubscriptionSnapshot>(Math.Min(limit, 1024));
        long position = 0;
        foreach (Session session in Sessions.Enumerate())
        {
            int count = session.SubscriptionCount;
            if (count > 0 && page.Count < limit && position + count > offset)
            {
                // The page starts or continues in this session: copy its subscriptions and take the part that falls in.
                IReadOnlyList<SubscriptionEntry> entries = session.GetSubscriptions();
                count = entries.Count;
                for (long i = Math.Max(0, offset - position); i < count && page.Count < limit; i++)
                {
                    SubscriptionEntry entry = entries[(int)i];
                    SubscriptionOptions options = entry.Options;
                    page.Add(new SubscriptionSnapshot(
                        session.ClientId, entry.Filter, options.QoS, options.NoLocal, options.RetainAsPublished, options.RetainHandling, options.SubscriptionIdentifier));
                }
            }

            position += count;
        }

        total = position;
        return page;
    }

    /// <summary>The subscriptions of one client; empty if it has no session.</summary>
    public IReadOnlyList<SubscriptionSnapshot> GetSubscriptions(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        var result = new List<SubscriptionSnapshot>();
        if (Sessions.Find(clientId) is { } session)
        {
            AddSubscriptions(session, result);
        }

        return result;
    }

    /// <summary>Every distinct topic filter with at least one subscriber, shared or not, sorted.</summary>
    public IReadOnlyList<RouteSnapshot> GetRoutes()
    {
        var filters = new SortedSet<string>(StringComparer.Ordinal);
        foreach (TopicTrieEntry<Session, SubscriptionOptions> entry in _router.Trie.EnumerateEntries())
        {
            filters.Add(entry.Filter);
        }

        var routes = new List<RouteSnapshot>(filters.Count);
        foreach (string filter in filters)
        {
            routes.Add(new RouteSnapshot(filter, Options.NodeName));
        }

        return routes;
    }

    /// <summary>
    /// Subscribes a client's session on its behalf (the management API's <c>mqtt/subscribe</c>), with retained
    /// messages delivered as for a SUBSCRIBE. Returns the SUBACK reason code, or null when the client has no session.
    /// </summary>
    public ReasonCode? Subscribe(string clientId, string topicFilter, QualityOfService qos)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(topicFilter);
        if (Sessions.Find(clientId) is not { } session)
        {
            return null;
        }

        ReasonCode code = Subscribe(session, new TopicSubscription(topicFilter, qos), subscriptionId: 0, out SubscriptionEntry? entry, out bool isNew);
        if (entry is not null)
        {
            DeliverRetained(session, entry, isNew);
        }

        return code;
    }

    /// <summary>Removes a client's subscription (<c>mqtt/unsubscribe</c>); false if there was none.</summary>
    public bool Unsubscribe(string clientId, string topicFilter)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(topicFilter);
        return Sessions.Find(clientId) is { } session && Unsubscribe(session, topicFilter);
    }

    private ClientSnapshot? TrySnapshot(MqttConnection connection)
    {
        if (!connection.IsConnected || connection.ClientId is not { } clientId || connection.Session is not { } session)
        {
            return null;
        }

        (string? ip, int port) = connection.Info.RemoteEndPoint switch
        {
            IPEndPoint endPoint => (endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4().ToString() : endPoint.Address.ToString(), endPoint.Port),
            _ => ((string?)null, 0),
        };

        return new ClientSnapshot
        {
            ClientId = clientId,
            UserName = connection.UserName,
            IpAddress = ip,
            Port = port,
            Listener = connection.Info.ListenerName,
            Connected = true,
            ConnectedAt = connection.ConnectedAt,
            ProtocolName = connection.Version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT",
            ProtocolVersion = (byte)connection.Version,
            KeepAlive = connection.KeepAlive,
            CleanStart = connection.CleanStart,
            Session = Snapshot(session),
            ReceivedBytes = connection.ReceivedBytes,
            SentBytes = connection.SentBytes,
            ReceivedPackets = connection.ReceivedPackets,
            SentPackets = connection.SentPackets,
            ReceivedMessages = connection.ReceivedMessages,
            SentMessages = connection.SentMessages,
        };
    }

    private SessionSnapshot Snapshot(Session session)
    {
        MqttConnection? connection = session.Connection;
        return new SessionSnapshot
        {
            ClientId = session.ClientId,
            Connected = connection is not null,
            CleanStart = connection?.CleanStart ?? false,
            ExpiryInterval = session.ExpiryInterval,
            CreatedAt = session.CreatedAt,
            SubscriptionCount = session.SubscriptionCount,
            MaxSubscriptions = Options.MaximumSubscriptions,
            Inflight = session.InflightCount,
            MaxInflight = connection?.OutboundWindow ?? Options.MaximumInflight,
            QueueLength = session.QueueLength,
            MaxQueue = Options.MaximumQueueLength,
            QueueDropped = session.QueueDropped,
            AwaitingRel = session.AwaitingRelCount,
            MaxAwaitingRel = Options.MaximumAwaitingRel,
        };
    }

    private static void AddSubscriptions(Session session, List<SubscriptionSnapshot> result)
    {
        foreach (SubscriptionEntry entry in session.GetSubscriptions())
        {
            SubscriptionOptions options = entry.Options;
            result.Add(new SubscriptionSnapshot(
                session.ClientId, entry.Filter, options.QoS, options.NoLocal, options.RetainAsPublished, options.RetainHandling, options.SubscriptionIdentifier));
        }
    }
}
