namespace Broker.Server.Configuration;

/// <summary>A configuration mistake, with a one-line message that names the flag or config key at fault.</summary>
internal sealed class OptionException : Exception
{
    public OptionException(string message)
        : base(message)
    {
    }

    public OptionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public OptionException()
    {
    }
}
