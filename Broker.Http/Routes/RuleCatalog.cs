namespace Broker.Http.Routes;

/// <summary>One entry of <c>/actions</c> or <c>/resource_types</c>: its name and its body, as EMQX 4.4 describes it.</summary>
internal sealed record CatalogEntry(string Name, string Json);

/// <summary>
/// The rule engine's fixed catalogue: the actions and resource types EMQX 4.4 lists (only those this broker runs),
/// with EMQX's titles, descriptions and parameter schemas. <c>web_hook</c> is listed as an action too: an alias of
/// <c>data_to_webserver</c>, the name EMQX gives the web hook action.
/// </summary>
internal static class RuleCatalog
{
    private const string WebHookActionParams = """
        {"$resource":{"type":"string","title":{"zh":"资源 ID","en":"Resource ID"},"required":true,"description":{"zh":"绑定资源的 ID","en":"Bind a resource to this action"}},"method":{"type":"string","title":{"zh":"请求方法","en":"Method"},"enum":["POST","PUT"],"description":{"zh":"请求方法 (默认为资源的方法)","en":"Request method (the resource's by default)"},"default":"POST"},"path":{"type":"string","title":{"zh":"请求路径","en":"Path"},"description":{"zh":"追加到资源 URL 的路径, 可用 ${field} 模板","en":"Path appended to the resource's URL; ${field} templates allowed"},"default":""},"headers":{"type":"object","title":{"zh":"请求头","en":"Headers"},"schema":{},"description":{"zh":"请求头","en":"Request headers, added to the resource's"},"default":{}},"body":{"type":"string","input":"textarea","title":{"zh":"消息体","en":"Body"},"description":{"zh":"消息体模板, 为空时发送 SELECT 的全部字段 (JSON)","en":"Body template; empty sends every selected field as JSON"},"default":""}}
        """;

    public static IReadOnlyList<CatalogEntry> Actions { get; } =
    [
        new("inspect", """{"types":[],"title":{"zh":"检查 (调试)","en":"Inspect (debug)"},"params":{},"name":"inspect","for":"$any","description":{"zh":"检查动作参数 (用以调试)","en":"Inspect the details of action params for debug purpose"},"app":"emqx_rule_engine"}"""),
        new("do_nothing", """{"types":[],"title":{"zh":"空动作 (调试)","en":"Do Nothing (debug)"},"params":{},"name":"do_nothing","for":"$any","description":{"zh":"此动作什么都不做，并且不会失败 (用以调试)","en":"This action does nothing and never fails. It's for debug purpose"},"app":"emqx_rule_engine"}"""),
        new("republish", """{"types":[],"title":{"zh":"消息重新发布","en":"Republish"},"params":{"target_topic":{"type":"string","title":{"zh":"目的主题","en":"Target Topic"},"required":true,"order":1,"description":{"zh":"重新发布消息到哪个主题，支持 ${field} 模板","en":"To which topic the message will be republished; ${field} templates allowed"},"default":""},"target_qos":{"type":"number","title":{"zh":"目的 QoS","en":"Target QoS"},"order":2,"enum":[-1,0,1,2],"description":{"zh":"重新发布消息时用的 QoS 级别, -1 表示使用原消息的 QoS","en":"The QoS level to republish the message with; -1 keeps the original QoS"},"default":0},"target_retain":{"type":"boolean","title":{"zh":"目标保留消息标识","en":"Target Retain"},"order":3,"description":{"zh":"重新发布的消息是否为保留消息","en":"The retain flag of the republished message"},"default":false},"payload_tmpl":{"type":"string","input":"textarea","title":{"zh":"消息内容模板","en":"Payload Template"},"order":4,"description":{"zh":"消息内容模板，支持 ${field} 变量","en":"The payload template; ${field} variables allowed"},"default":"${payload}"}},"name":"republish","for":"$any","description":{"zh":"重新发布消息到另一个主题","en":"Republish a MQTT message to another topic"},"app":"emqx_rule_engine"}"""),
        new("data_to_webserver", """{"types":["web_hook"],"title":{"zh":"发送数据到 Web 服务","en":"Data to Web Server"},"params":""" + WebHookActionParams + ""","name":"data_to_webserver","for":"$any","description":{"zh":"将数据转发给 Web 服务","en":"Forward Messages to Web Server"},"app":"emqx_web_hook"}"""),
        new("web_hook", """{"types":["web_hook"],"title":{"zh":"发送数据到 Web 服务","en":"Data to Web Server"},"params":""" + WebHookActionParams + ""","name":"web_hook","for":"$any","description":{"zh":"data_to_webserver 的别名","en":"Alias of data_to_webserver: POST or PUT the selected fields to a web_hook resource"},"app":"emqx_web_hook"}"""),
    ];

    public static IReadOnlyList<CatalogEntry> ResourceTypes { get; } =
    [
        new("web_hook", """{"title":{"zh":"WebHook","en":"WebHook"},"provider":"emqx_web_hook","params":{"url":{"type":"string","title":{"zh":"请求 URL","en":"Request URL"},"required":true,"format":"url","description":{"zh":"请求 URL","en":"Request URL"}},"method":{"type":"string","title":{"zh":"请求方法","en":"Request Method"},"enum":["PUT","POST"],"description":{"zh":"请求方法","en":"Request Method"},"default":"POST"},"headers":{"type":"object","title":{"zh":"请求头","en":"Request Header"},"schema":{},"description":{"zh":"请求头","en":"Request Header"},"default":{}},"request_timeout":{"type":"string","title":{"zh":"请求超时时间","en":"Request Timeout"},"description":{"zh":"请求超时时间","en":"Request timeout, such as 5s or 500ms"},"default":"5s"}},"name":"web_hook","description":{"zh":"WebHook","en":"WebHook"}}"""),
    ];

    public static CatalogEntry? FindAction(string name) => Find(Actions, name);

    public static CatalogEntry? FindResourceType(string name) => Find(ResourceTypes, name);

    private static CatalogEntry? Find(IReadOnlyList<CatalogEntry> entries, string name)
    {
        foreach (CatalogEntry entry in entries)
        {
            if (string.Equals(entry.Name, name, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return null;
    }
}
