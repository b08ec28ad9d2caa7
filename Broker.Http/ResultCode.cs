namespace Broker.Http;

/// <summary>The management API's result codes (EMQX 4.4 <c>emqx_mgmt.hrl</c>), carried in the <c>code</c> field.</summary>
public static class ResultCode
{
    public const int Ok = 0;
    public const int RpcError = 101;
    public const int Unknown = 102;
    public const int UsernameOrPasswordError = 103;
    public const int EmptyUsernameOrPassword = 104;
    public const int UserNotFound = 105;
    public const int AdminCannotBeDeleted = 106;
    public const int MissingParameter = 107;
    public const int BadParameter = 108;
    public const int BodyNotJson = 109;
    public const int PluginAlreadyLoaded = 110;
    public const int PluginAlreadyUnloaded = 111;
    public const int ClientNotOnline = 112;
    public const int UserAlreadyExists = 113;
    public const int OldPasswordWrong = 114;
    public const int BadTopic = 115;
    public const int BadQoS = 116;
}
