using Broker.Core.Packets;
using Broker.Core.Protocol;
using Broker.Tests.TestSupport;

namespace Broker.Tests.Security;

internal static class SecurityTestSupport
{
    public static ConnectPacket Connect(ProtocolVersion version, string clientId, string? userName = null, string? password = null) => new()
    {
        ProtocolName = version == ProtocolVersion.V310 ? "MQIsdp" : "MQTT",
        ProtocolVersion = version,
        ClientId = clientId,
        CleanStart = true,
        UserName = userName,
        Password = password is null ? null : System.Text.Encoding.UTF8.GetBytes(password),
    };

    /// <summary>Sends CONNECT on a fresh connection and returns the CONNACK code: the v5 reason code, or the 3.1.1 return code.</summary>
    public static async Task<int> ConnectCodeAsync(TestBroker broker, ProtocolVersion version, string clientId, string? userName = null, string? password = null)
    {
        PipeClient client = broker.Open(version);
        ConnAckPacket ack = await client.SendConnectAsync(Connect(version, clientId, userName, password));
        return version == ProtocolVersion.V500 ? (int)ack.ReasonCode : ack.ReturnCode;
    }

    public static Task<PipeClient> ConnectAsUserAsync(TestBroker broker, string clientId, string userName, string password, ProtocolVersion version = ProtocolVersion.V500)
        => broker.ConnectAsync(clientId, version, configure: c =>
        {
            c.UserName = userName;
            c.Password = System.Text.Encoding.UTF8.GetBytes(password);
        });
}
