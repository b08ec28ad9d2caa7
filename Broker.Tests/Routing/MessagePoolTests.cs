using Broker.Core.Protocol;
using Broker.Core.Routing;

namespace Broker.Tests.Routing;

/// <summary>The pooled message's reference counting and the pool's size classes, without a broker.</summary>
[TestFixture]
public sealed class MessagePoolTests
{
    [TestCase(0, 64)]
    [TestCase(1, 64)]
    [TestCase(64, 64)]
    [TestCase(65, 128)]
    [TestCase(1000, 1024)]
    [TestCase(MessagePool.MaximumPooledLength, MessagePool.MaximumPooledLength)]
    public void Rent_PicksTheSmallestClassThatFits(int length, int capacity)
    {
        var pool = new MessagePool();

        Message message = pool.Rent(length)!;

        Assert.That(message.Capacity, Is.EqualTo(capacity));
        Assert.That(message.WritableBuffer.Length, Is.EqualTo(length));
        Assert.That(message.IsPooled, Is.True);
        Assert.That(message.References, Is.EqualTo(1), "the renter's reference");
    }

    [Test]
    public void Rent_AboveTheLargestClass_IsLeftToTheCaller()
    {
        Assert.That(new MessagePool().Rent(MessagePool.MaximumPooledLength + 1), Is.Null);
    }

    [Test]
    public void LastRelease_ReturnsTheMessage_AndTheNextRentReusesIt()
    {
        var pool = new MessagePool();
        Message message = Fill(pool, "t", "payload");
        message.AddRef();

        message.Release();
        Assert.That(pool.Available, Is.Zero, "one reference is still held");
        message.Release();

        Assert.That(pool.Available, Is.EqualTo(1));
        Assert.That(message.References, Is.Zero);
        Assert.That(message.Publisher, Is.Null, "a pooled message must not keep the publisher's session alive");
        Assert.That(pool.Rent(10), Is.SameAs(message));
        Assert.That(pool.Created, Is.EqualTo(1));
    }

    [Test]
    public void Release_PoisonsTheBuffer()
    {
        var pool = new MessagePool();
        Message message = Fill(pool, "t", "payload");

        message.Release();

        Assert.That(message.Capacity, Is.EqualTo(64));
        Assert.That(pool.Rent(64)!.WritableBuffer.ToArray(), Is.All.EqualTo(MessagePool.PoisonByte));
    }

    [Test]
    public void AddRef_AfterTheLastRelease_Throws()
    {
        Message message = Fill(new MessagePool(), "t", "p");
        message.Release();

        Assert.That(() => message.AddRef(), Throws.InvalidOperationException);
    }

    [Test]
    public void Release_OnceTooOften_Throws()
    {
        Message message = Fill(new MessagePool(), "t", "p");
        message.Release();

        Assert.That(message.Release, Throws.InvalidOperationException);
    }

    [Test]
    public void AddRefCount_TakesThatManyReferences()
    {
        var pool = new MessagePool();
        Message message = Fill(pool, "t", "p");

        message.AddRef(100);
        for (int i = 0; i < 100; i++)
        {
            message.Release();
        }

        Assert.That(message.References, Is.EqualTo(1));
        message.Release();
        Assert.That(pool.Available, Is.EqualTo(1));
    }

    [Test]
    public void Unpooled_IgnoresReferenceCounting()
    {
        var message = new Message("t"u8, "p"u8, QualityOfService.AtMostOnce, retain: false);

        message.AddRef();
        message.Release();
        message.Release();
        message.Release();

        Assert.That(message.IsPooled, Is.False);
        Assert.That(message.Payload.ToArray(), Is.EqualTo("p"u8.ToArray()));
    }

    [Test]
    public void ToUnpooled_KeepsItsBytes_AfterThePooledMessageIsReused()
    {
        var pool = new MessagePool();
        Message pooled = Fill(pool, "a/b", "original", properties: [0x01, 0x01]);

        Message copy = pooled.ToUnpooled();
        pooled.Release();
        Fill(pool, "x/y", "overwrite");

        Assert.That(copy.IsPooled, Is.False);
        Assert.That(copy.Publisher, Is.Null, "the copy is for long-lived holders: no publisher session");
        Assert.That(copy.PublisherClientId, Is.EqualTo("client"));
        Assert.That(copy.Topic, Is.EqualTo("a/b"));
        Assert.That(copy.Properties.ToArray(), Is.EqualTo(new byte[] { 0x01, 0x01 }));
        Assert.That(copy.Payload.ToArray(), Is.EqualTo("original"u8.ToArray()));
        Assert.That(copy.QoS, Is.EqualTo(QualityOfService.AtLeastOnce));
        Assert.That(copy.Retain, Is.True);
    }

    [Test]
    public void ConcurrentAddRefAndRelease_ReturnsOnceAtTheEnd()
    {
        var pool = new MessagePool();
        const int Rounds = 2000;
        const int Holders = 8;
        for (int round = 0; round < Rounds; round++)
        {
            Message message = Fill(pool, "t", "p");
            message.AddRef(Holders);
            Parallel.For(0, Holders, _ => message.Release());
            Assert.That(message.References, Is.EqualTo(1));
            message.Release();
        }

        Assert.That(pool.Created, Is.EqualTo(1), "each round returns the message before the next rents it");
        Assert.That(pool.Available, Is.EqualTo(1));
    }

    private static Message Fill(MessagePool pool, string topic, string payload, byte[]? properties = null)
    {
        properties ??= [];
        int topicLength = System.Text.Encoding.UTF8.GetByteCount(topic);
        int payloadLength = System.Text.Encoding.UTF8.GetByteCount(payload);
        Message message = pool.Rent(topicLength + properties.Length + payloadLength)!;
        Span<byte> buffer = message.WritableBuffer;
        System.Text.Encoding.UTF8.GetBytes(topic, buffer);
        properties.CopyTo(buffer[topicLength..]);
        System.Text.Encoding.UTF8.GetBytes(payload, buffer[(topicLength + properties.Length)..]);
        message.Initialize(topicLength, properties.Length, QualityOfService.AtLeastOnce, retain: true, "client", "user", publisher: new object(), expiresAt: 0, timestamp: 1);
        return message;
    }
}
