using Broker.Core.Connections;
using Broker.Core.Diagnostics;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Routing;
using Broker.Core.Sessions;

namespace Broker.Core;

public sealed partial class MqttBroker
{
    private int _housekeepingRunning;

    /// <summary>
    /// The once-a-second sweep: connect and keep alive timeouts, session expiry, delayed wills, QoS retries,
    /// forgotten PUBRELs, delayed publishes, retained expiry and $SYS. Driven by <see cref="TimeProvider"/>,
    /// so tests advance a fake clock instead of sleeping.
    /// </summary>
    internal void Housekeeping()
    {
        if (Interlocked.Exchange(ref _housekeepingRunning, 1) != 0)
        {
            return;
        }

        try
        {
            long now = TimeProvider.GetTimestamp();
            long frequency = TimeProvider.TimestampFrequency;
            CheckConnections(now, frequency);
            CheckSessions(now, frequency);
            _delayed.PublishDue(now);
            Retained.RemoveExpired(now);
            _sys.Tick(now);
            SecurityTick(now);
        }
#pragma warning disable CA1031 // A timer callback that throws would crash the process; log and try again next tick.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            BrokerLog.HousekeepingFailed(Logger, ex);
        }
        finally
        {
            Volatile.Write(ref _housekeepingRunning, 0);
        }
    }

    private void CheckConnections(long now, long frequency)
    {
        long connectTimeout = (long)(Options.ConnectTimeout.TotalSeconds * frequency);
        // A pooled copy, so that closing a connection never happens under the list's lock.
        MqttConnection[] connections = _connections.Rent(out int count);
        try
        {
            foreach (MqttConnection connection in connections.AsSpan(0, count))
            {
                CheckConnection(connection, now, frequency, connectTimeout);
            }
        }
        finally
        {
            ConnectionList.Return(connections);
        }
    }

    private static void CheckConnection(MqttConnection connection, long now, long frequency, long connectTimeout)
    {
        if (connection.Session is null)
        {
            if (now - connection.CreatedTimestamp > connectTimeout)
            {
                connection.RequestClose(DisconnectReason.ConnectTimeout, null);
            }

            return;
        }

        // A client silent for one and a half keep alive periods is gone [MQTT-3.1.2-24].
        ushort keepAlive = connection.KeepAlive;
        if (keepAlive > 0 && now - connection.LastActivity > keepAlive * frequency * 3 / 2)
        {
            connection.RequestClose(DisconnectReason.KeepAliveTimeout, ReasonCode.KeepAliveTimeout);
        }
    }

    private void CheckSessions(long now, long frequency)
    {
        long retryBefore = now - (long)(Options.RetryInterval.TotalSeconds * frequency);
        long relBefore = now - (long)(Options.AwaitRelTimeout.TotalSeconds * frequency);
        foreach (KeyValuePair<string, Session> entry in Sessions.Entries)
        {
            Session session = entry.Value;
            MqttConnection? connection = session.Connection;
            if (connection is null)
            {
                ExpireIfDue(session, now);
                continue;
            }

            if (connection.Version != ProtocolVersion.V500)
            {
                session.RetryInflight(retryBefore);
            }

            int expired = session.ExpireAwaitingRel(relBefore);
            if (expired > 0)
            {
                // EMQX counts these in messages.dropped (and messages.dropped.await_pubrel_timeout, not in the v4 API table).
                Counters.Add(CounterId.MessagesDropped, expired);
            }
        }
    }

    private void ExpireIfDue(Session session, long now)
    {
        Message? will = null;
        uint willExpiry = 0;
        lock (session.Sync)
        {
            if (session.PendingWill is { } pending && now >= session.PendingWillAt)
            {
                will = pending;
                willExpiry = session.PendingWillExpiryInterval;
                session.PendingWill = null;
            }
        }

        if (session.ExpiresAt != 0 && now >= session.ExpiresAt)
        {
            lock (Sessions.GetLock(session.ClientId))
            {
                if (session.Connection is null && !session.IsTerminated && session.ExpiresAt != 0 && now >= session.ExpiresAt)
                {
                    lock (session.Sync)
                    {
                        will ??= session.PendingWill;
                        willExpiry = session.PendingWillExpiryInterval;
                        session.PendingWill = null;
                    }

                    TerminateLocked(session);
                }
            }
        }

        if (will is not null)
        {
            PublishWill(will, willExpiry);
        }
    }
}
