namespace Broker.Core.Topics;

/// <summary>What <see cref="TopicValidator.ParseShared"/> found in a SUBSCRIBE or UNSUBSCRIBE topic filter.</summary>
public enum SharedParseResult
{
    /// <summary>A normal topic filter; validate it with <see cref="TopicValidator.IsValidTopicFilter"/>.</summary>
    NotShared,

    /// <summary><c>$share/&lt;group&gt;/&lt;filter&gt;</c> or <c>$queue/&lt;filter&gt;</c> with a well-formed group and a non-empty filter.</summary>
    Shared,

    /// <summary>Starts with <c>$share/</c> or <c>$queue/</c> but breaks [MQTT-4.8.2-1] or [MQTT-4.8.2-2]: answer 0x8F Topic Filter Invalid.</summary>
    Invalid,
}
