using System.Text;
using Broker.Core;
using Broker.Core.Snapshots;
using Broker.Core.Topics;

namespace Broker.Http.Routes;

/// <summary>One subscription with its share group split off, for <c>/subscriptions</c> and its filters.</summary>
internal sealed class SubscriptionRow
{
    private SubscriptionRow(SubscriptionSnapshot subscription, string? share, string bareTopic)
    {
        Subscription = subscription;
        Share = share;
        BareTopic = bareTopic;
    }

    public SubscriptionSnapshot Subscription { get; }

    public string ClientId => Subscription.ClientId;

    /// <summary>The filter as subscribed, <c>$share/g/t</c> included.</summary>
    public string Topic => Subscription.Topic;

    /// <summary>The share group (<c>$queue</c> for <c>$queue/</c>), or null.</summary>
    public string? Share { get; }

    /// <summary>The filter without its share prefix.</summary>
    public string BareTopic { get; }

    public int QoS => (int)Subscription.QoS;

    public static SubscriptionRow From(SubscriptionSnapshot subscription)
    {
        // Only '$share/…' and '$queue/…' carry a group: the common case costs no encoding.
        if (!subscription.Topic.StartsWith('$'))
        {
            return new SubscriptionRow(subscription, null, subscription.Topic);
        }

        byte[] bytes = Encoding.UTF8.GetBytes(subscription.Topic);
        return TopicValidator.TryParseShared(bytes, out ReadOnlySpan<byte> group, out ReadOnlySpan<byte> filter)
            ? new SubscriptionRow(subscription, Encoding.UTF8.GetString(group), Encoding.UTF8.GetString(filter))
            : new SubscriptionRow(subscription, null, subscription.Topic);
    }

    /// <summary>Every subscription, in the session table's order (as EMQX walks its ETS table): for filtered queries.</summary>
    public static List<SubscriptionRow> All(MqttBroker broker)
    {
        IReadOnlyList<SubscriptionSnapshot> subscriptions = broker.GetSubscriptions();
        var rows = new List<SubscriptionRow>(subscriptions.Count);
        foreach (SubscriptionSnapshot subscription in subscriptions)
        {
            rows.Add(From(subscription));
        }

        return rows;
    }

    /// <summary>
    /// A page of every subscription, or of those <paramref name="filter"/> keeps. Unfiltered, only the page's rows are
    /// built (<see cref="MqttBroker.GetSubscriptionsPage"/>), so deep pages of large tables answer in milliseconds;
    /// filtered, one pass in the same order, count -1.
    /// </summary>
    public static PageResult<T> Page<T>(MqttBroker broker, PageRequest request, Func<SubscriptionRow, bool>? filter, Func<SubscriptionRow, T> project)
    {
        if (filter is not null)
        {
            return Paging.Apply(All(broker), request, filter, project);
        }

        IReadOnlyList<SubscriptionSnapshot> page = broker.GetSubscriptionsPage(request.Offset, request.Limit, out long total);
        var items = new List<T>(page.Count);
        foreach (SubscriptionSnapshot subscription in page)
        {
            items.Add(project(From(subscription)));
        }

        return new PageResult<T>(items, new PageMeta(request.Page, request.Limit, total, request.Offset + items.Count < total));
    }

    public static List<SubscriptionRow> Of(MqttBroker broker, string clientId) => Sorted(broker.GetSubscriptions(clientId));

    /// <summary>
    /// EMQX 4.4's subscription filters: exact <c>clientid</c>, <c>topic</c> (as subscribed or without its share
    /// prefix), <c>share</c>, <c>qos</c>, and <c>_match_topic</c>, which keeps subscriptions whose topic the given filter
    /// matches (<c>_match_topic=t/#</c> keeps <c>t/1</c>).
    /// </summary>
    public static Func<SubscriptionRow, bool>? ParseFilter(QueryString query)
        => new QueryFilter<SubscriptionRow>(query)
            .Exact("clientid", static r => r.ClientId)
            .Custom("topic", static topic => r => r.Topic == topic || r.BareTopic == topic)
            .Exact("share", static r => r.Share)
            .Int("qos", static r => r.QoS)
            .Custom("_match_topic", static match =>
            {
                byte[] filter = Encoding.UTF8.GetBytes(match);
                return r => TopicValidator.Matches(filter, Encoding.UTF8.GetBytes(r.BareTopic));
            })
            .Build();

    private static List<SubscriptionRow> Sorted(IReadOnlyList<SubscriptionSnapshot> subscriptions)
    {
        var rows = new List<SubscriptionRow>(subscriptions.Count);
        foreach (SubscriptionSnapshot subscription in subscriptions)
        {
            rows.Add(From(subscription));
        }

        rows.Sort(static (a, b) =>
        {
            int byClient = string.CompareOrdinal(a.ClientId, b.ClientId);
            return byClient != 0 ? byClient : string.CompareOrdinal(a.Topic, b.Topic);
        });
        return rows;
    }
}
