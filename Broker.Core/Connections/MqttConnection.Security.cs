using Broker.Core.Configuration;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Core.Security;

namespace Broker.Core.Connections;

internal sealed partial class MqttConnection
{
    /// <summary>Set at CONNECT from the user record: superusers skip the ACL (EMQX's <c>is_superuser</c>).</summary>
    internal bool IsSuperuser { get; private set; }

    /// <summary>This client's cached ACL answers, created on the first check that uses the cache.</summary>
    internal AclCache? AclCache => Volatile.Read(ref _rare)?.AclCache;

    internal AclCache GetOrCreateAclCache()
    {
        Rare rare = GetRare();
        AclCache? cache = Volatile.Read(ref rare.AclCache);
        if (cache is null)
        {
            cache = new AclCache();
            cache = Interlocked.CompareExchange(ref rare.AclCache, cache, null) ?? cache;
        }

        return cache;
    }

    /// <summary>
    /// Banned list, then the authentication chain; false (and a refusal sent) when the CONNECT may not proceed.
    /// Banned: 0x8A (3.1.1: 0x05); wrong password: 0x86 (0x04); anonymous when not allowed: 0x87 (0x05).
    /// </summary>
    private bool TryAdmit(string clientId, ConnectPacket packet)
    {
        if (_broker.IsBanned(clientId, packet.UserName, Info))
        {
            Refuse(ReasonCode.Banned);
            return false;
        }

        Counters.Increment(CounterId.ClientAuthenticate);
        ReasonCode auth = _broker.Authenticate(clientId, packet.UserName, packet.Password, out bool isSuperuser, out bool anonymous);
        if (auth != ReasonCode.Success)
        {
            Counters.Increment(CounterId.PacketsConnackAuthError);
            Refuse(auth, counted: true);
            return false;
        }

        if (anonymous)
        {
            // EMQX counts client.auth.anonymous when no source vouched for the client and allow_anonymous let it in.
            Counters.Increment(CounterId.ClientAuthAnonymous);
        }

        IsSuperuser = isSuperuser;
        return true;
    }

    /// <summary>
    /// The ACL check of a PUBLISH. Denied: counted in <c>packets.publish.auth_error</c>; with <c>acl_deny_action =
    /// disconnect</c> the client is disconnected (v5: 0x87), otherwise QoS 0 is dropped and QoS 1/2 acknowledged with
    /// 0x87 Not authorized (3.1.1 acknowledgements carry no code). Returns false when the message must not be routed.
    /// </summary>
    private bool CheckPublishAcl(ReadOnlySpan<byte> topic, QualityOfService qos, ushort packetId)
    {
        if (_broker.IsAllowed(this, AclAction.Publish, topic))
        {
            return true;
        }

        Counters.Increment(CounterId.PacketsPublishAuthError);
        if (_broker.Options.AclDenyAction == AclDenyAction.Disconnect)
        {
            RequestClose(DisconnectReason.NotAuthorized, ReasonCode.NotAuthorized);
            return false;
        }

        if (qos == QualityOfService.AtLeastOnce)
        {
            EnqueueAck(PacketType.PubAck, packetId, ReasonCode.NotAuthorized);
        }
        else if (qos == QualityOfService.ExactlyOnce)
        {
            EnqueueAck(PacketType.PubRec, packetId, ReasonCode.NotAuthorized);
        }

        return false;
    }

    /// <summary>
    /// EMQX 4.4 checks a will's topic against the publish ACL and drops a denied will (the connection is accepted).
    /// Checked here at CONNECT, with the rules of that moment and without the cache.
    /// </summary>
    private void DropWillIfDenied(string clientId, string? userName)
    {
        if (Will is { } will && !_broker.IsWillAllowed(clientId, userName, IsSuperuser, will.TopicBytes))
        {
            GetRare().Will = null;
            Counters.Increment(CounterId.PacketsPublishAuthError);
        }
    }

    /// <summary>
    /// The ACL check of each SUBSCRIBE filter (shared filters are checked without their <c>$share/group/</c> prefix, as
    /// EMQX parses them first). Returns null when every filter is allowed, else one flag per filter; counts
    /// <c>packets.subscribe.auth_error</c> once per packet.
    /// </summary>
    private bool[]? CheckSubscribeAcl(List<TopicSubscription> subscriptions)
    {
        bool[]? denied = null;
        for (int i = 0; i < subscriptions.Count; i++)
        {
            byte[] filter = System.Text.Encoding.UTF8.GetBytes(subscriptions[i].TopicFilter);
            ReadOnlySpan<byte> checkedFilter = Topics.TopicValidator.TryParseShared(filter, out _, out ReadOnlySpan<byte> inner) ? inner : filter;
            if (!_broker.IsAllowed(this, AclAction.Subscribe, checkedFilter))
            {
                (denied ??= new bool[subscriptions.Count])[i] = true;
            }
        }

        if (denied is not null)
        {
            Counters.Increment(CounterId.PacketsSubscribeAuthError);
        }

        return denied;
    }
}
