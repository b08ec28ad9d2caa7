using Broker.Core.Routing;

namespace Broker.Tests;

/// <summary>
/// Runs the whole suite with released pooled messages poisoned (<see cref="MessagePool.PoisonReleased"/>): a message
/// read after its last reference was released then carries 0xDD bytes, which any payload assertion catches.
/// </summary>
[SetUpFixture]
public sealed class PoisonReleasedMessages
{
    [OneTimeSetUp]
    public void TurnOn() => MessagePool.PoisonReleased = true;
}
