using System.Text;
using Broker.Core.Metrics;
using Broker.Core.Protocol;
using Broker.Core.Security;
using Broker.Tests.TestSupport;
using static Broker.Tests.Security.SecurityTestSupport;

namespace Broker.Tests.Security;

/// <summary>The built-in user database deciding CONNECT (EMQX 4.4 emqx_auth_mnesia, behaviour doc 2.7).</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class AuthenticationTests
{
    [TestCase(ProtocolVersion.V500, 0x00)]
    [TestCase(ProtocolVersion.V311, 0x00)]
    public async Task KnownUser_RightPassword_Accepted(ProtocolVersion version, int expected)
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(UserKind.Username, "alice", "secret");

        Assert.That(await ConnectCodeAsync(broker, version, "c1", "alice", "secret"), Is.EqualTo(expected));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthenticate), Is.EqualTo(1));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthAnonymous), Is.Zero);
    }

    // A record exists and the password is wrong: 0x86 Bad User Name or Password (3.1.1: 0x04), whatever allow_anonymous says.
    [TestCase(ProtocolVersion.V500, true, 0x86)]
    [TestCase(ProtocolVersion.V500, false, 0x86)]
    [TestCase(ProtocolVersion.V311, true, 0x04)]
    [TestCase(ProtocolVersion.V310, false, 0x04)]
    public async Task KnownUser_WrongPassword_BadUserNameOrPassword(ProtocolVersion version, bool allowAnonymous, int expected)
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = allowAnonymous);
        broker.Broker.Users.TryAdd(UserKind.Username, "alice", "secret");

        Assert.That(await ConnectCodeAsync(broker, version, "c1", "alice", "wrong"), Is.EqualTo(expected));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsConnackAuthError), Is.EqualTo(1));
        Assert.That(broker.Broker.Sessions.Count, Is.Zero);
    }

    [Test]
    public async Task KnownUser_NoPassword_BadUserNameOrPassword()
    {
        await using var broker = new TestBroker();
        broker.Broker.Users.TryAdd(UserKind.Username, "alice", "secret");

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c1", "alice"), Is.EqualTo(0x86));
    }

    // No record vouches for the client and allow_anonymous is false: 0x87 Not authorized (3.1.1: 0x05), username or not.
    [TestCase(ProtocolVersion.V500, "stranger", 0x87)]
    [TestCase(ProtocolVersion.V500, null, 0x87)]
    [TestCase(ProtocolVersion.V311, "stranger", 0x05)]
    public async Task UnknownUser_AnonymousOff_NotAuthorized(ProtocolVersion version, string? userName, int expected)
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(UserKind.Username, "alice", "secret");

        Assert.That(await ConnectCodeAsync(broker, version, "c1", userName, "pw"), Is.EqualTo(expected));
        Assert.That(broker.Broker.Counters.Get(CounterId.PacketsConnackAuthError), Is.EqualTo(1));
    }

    // EMQX counts client.auth.anonymous for every client admitted without a matching record, with a username or not.
    [Test]
    public async Task UnknownUser_AnonymousOn_AcceptedAndCountedAnonymous()
    {
        await using var broker = new TestBroker();
        broker.Broker.Users.TryAdd(UserKind.Username, "alice", "secret");

        await broker.ConnectAsync("c1", configure: c => c.UserName = "stranger");
        await broker.ConnectAsync("c2");
        await ConnectAsUserAsync(broker, "c3", "alice", "secret");

        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthenticate), Is.EqualTo(3));
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthAnonymous), Is.EqualTo(2));
    }

    [Test]
    public async Task ClientIdRecord_Authenticates_EvenWithAnotherUsername()
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(UserKind.ClientId, "device-1", "dpw");

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "device-1", "whoever", "dpw"), Is.Zero);
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "device-1", null, "nope"), Is.EqualTo(0x86));
    }

    // emqx_auth_mnesia: the client id record and the username record are both candidates; either password wins.
    [Test]
    public async Task BothRecords_EitherPasswordWins()
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(UserKind.ClientId, "dev", "by-client");
        broker.Broker.Users.TryAdd(UserKind.Username, "bob", "by-user");

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "dev", "bob", "by-client"), Is.Zero);
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "dev", "bob", "by-user"), Is.Zero);
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "dev", "bob", "neither"), Is.EqualTo(0x86));
    }

    [Test]
    public async Task UpdatedPassword_OldOneRefused_RemovedUser_IsAnonymous()
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        UserDatabase users = broker.Broker.Users;
        users.TryAdd(UserKind.Username, "alice", "one");
        Assert.That(users.TryUpdate(UserKind.Username, "alice", "two"), Is.True);

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c", "alice", "one"), Is.EqualTo(0x86));
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c", "alice", "two"), Is.Zero);

        Assert.That(users.Remove(UserKind.Username, "alice"), Is.True);
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c", "alice", "two"), Is.EqualTo(0x87));
    }

    // Unloading the auth module leaves only allow_anonymous: EMQX with no auth plugin.
    [Test]
    public async Task AuthModuleUnloaded_RecordsIgnored()
    {
        await using var broker = new TestBroker();
        broker.Broker.Users.TryAdd(UserKind.Username, "alice", "secret");
        Assert.That(broker.Broker.Modules.Unload("emqx_auth_mnesia"), Is.EqualTo(ModuleChange.Done));

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "c", "alice", "wrong"), Is.Zero);
        Assert.That(broker.Broker.Counters.Get(CounterId.ClientAuthAnonymous), Is.EqualTo(1));
    }

    [Test]
    public void Users_AddExisting_Existed_UpdateMissing_NoExisted_ListNewestFirst()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var broker = new Broker.Core.MqttBroker(timeProvider: time);
        UserDatabase users = broker.Users;

        Assert.That(users.TryAdd(UserKind.Username, "a", "p"), Is.True);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(users.TryAdd(UserKind.Username, "b", "p", isSuperuser: true), Is.True);
        Assert.That(users.TryAdd(UserKind.Username, "a", "other"), Is.False);
        Assert.That(users.TryAdd(UserKind.ClientId, "a", "p"), Is.True, "client ids are a separate table");
        Assert.That(users.TryUpdate(UserKind.Username, "zz", "p"), Is.False);

        IReadOnlyList<UserSnapshot> list = users.List(UserKind.Username);
        Assert.That(list.Select(u => u.Login), Is.EqualTo(new[] { "b", "a" }));
        Assert.That(list[0].IsSuperuser, Is.True);
        Assert.That(list[1].CreatedAt, Is.EqualTo(DateTimeOffset.UnixEpoch.AddDays(1).ToUnixTimeMilliseconds()));
        Assert.That(users.Find(UserKind.ClientId, "a")!.Login, Is.EqualTo("a"));
        Assert.That(users.Count, Is.EqualTo(3));
    }

    // Behaviour doc 2.7: stored = 4 salt bytes ++ lowercase hex of hash(salt ++ password).
    [Test]
    public void Hash_IsSaltPlusHexOfSaltedSha256()
    {
        byte[] stored = PasswordHasher.Hash("public"u8, PasswordHashAlgorithm.Sha256);

        Assert.That(stored, Has.Length.EqualTo(4 + 64));
        byte[] salted = [.. stored.AsSpan(0, 4), .. "public"u8];
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(salted));
        Assert.That(Encoding.ASCII.GetString(stored, 4, 64), Is.EqualTo(expected));
        Assert.That(PasswordHasher.Verify("public"u8, stored, PasswordHashAlgorithm.Sha256), Is.True);
        Assert.That(PasswordHasher.Verify("publiC"u8, stored, PasswordHashAlgorithm.Sha256), Is.False);
    }

    [Test]
    public void Hash_TwoHashesOfOnePassword_Differ()
    {
        byte[] first = PasswordHasher.Hash("pw"u8, PasswordHashAlgorithm.Sha256);
        byte[] second = PasswordHasher.Hash("pw"u8, PasswordHashAlgorithm.Sha256);

        // Salts are 4 random bytes: equal with probability 2^-32.
        Assert.That(first, Is.Not.EqualTo(second));
    }

    [Test]
    public void Hash_Sha512_SaltPlus128Hex()
    {
        byte[] stored = PasswordHasher.Hash("pw"u8, PasswordHashAlgorithm.Sha512);

        Assert.That(stored, Has.Length.EqualTo(4 + 128));
        Assert.That(PasswordHasher.Verify("pw"u8, stored, PasswordHashAlgorithm.Sha512), Is.True);
    }

    // A stored value exactly as long as an unsalted digest is compared unsalted (records from older EMQX versions).
    [TestCase(PasswordHashAlgorithm.Sha256)]
    [TestCase(PasswordHashAlgorithm.Md5)]
    [TestCase(PasswordHashAlgorithm.Sha)]
    [TestCase(PasswordHashAlgorithm.Sha512)]
    public void Verify_LegacyUnsalted(PasswordHashAlgorithm algorithm)
    {
#pragma warning disable CA5350, CA5351 // Legacy formats under test.
        byte[] digest = algorithm switch
        {
            PasswordHashAlgorithm.Md5 => System.Security.Cryptography.MD5.HashData("public"u8),
            PasswordHashAlgorithm.Sha => System.Security.Cryptography.SHA1.HashData("public"u8),
            PasswordHashAlgorithm.Sha512 => System.Security.Cryptography.SHA512.HashData("public"u8),
            _ => System.Security.Cryptography.SHA256.HashData("public"u8),
        };
#pragma warning restore CA5350, CA5351
        byte[] stored = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(digest));

        Assert.That(PasswordHasher.Verify("public"u8, stored, algorithm), Is.True);
        Assert.That(PasswordHasher.Verify("x"u8, stored, algorithm), Is.False);
    }

    // The contract's /auth_user example shows sha256("public") unsalted.
    [Test]
    public void DigestText_OfTheContractExample()
    {
        byte[] stored = "efa1f375d76194fa51a3556a97e641e61685f914d446979da50a551a4333ffd7"u8.ToArray();

        Assert.That(PasswordHasher.Verify("public"u8, stored, PasswordHashAlgorithm.Sha256), Is.True);
        Assert.That(PasswordHasher.DigestText(stored, PasswordHashAlgorithm.Sha256), Is.EqualTo("efa1f375d76194fa51a3556a97e641e61685f914d446979da50a551a4333ffd7"));
    }

    [Test]
    public void PasswordHash_Option_RefusesWeakAlgorithms()
    {
        var options = new Broker.Core.Configuration.BrokerOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.PasswordHash = PasswordHashAlgorithm.Md5);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.PasswordHash = PasswordHashAlgorithm.Plain);
        options.PasswordHash = PasswordHashAlgorithm.Sha512;
    }

    // Records keep the algorithm they were hashed with, so changing the option does not lock existing users out.
    [Test]
    public async Task ChangingPasswordHash_ExistingUsersStillAuthenticate()
    {
        await using var broker = new TestBroker(o => o.AllowAnonymous = false);
        broker.Broker.Users.TryAdd(UserKind.Username, "old", "pw");
        broker.Broker.Options.PasswordHash = PasswordHashAlgorithm.Sha512;
        broker.Broker.Users.TryAdd(UserKind.Username, "new", "pw");

        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "a", "old", "pw"), Is.Zero);
        Assert.That(await ConnectCodeAsync(broker, ProtocolVersion.V500, "b", "new", "pw"), Is.Zero);
        Assert.That(broker.Broker.Users.Find(UserKind.Username, "new")!.PasswordDigest, Has.Length.EqualTo(128));
    }
}
