namespace Broker.Core.Topics;

/// <summary>
/// Reference equality with the key's own <see cref="object.GetHashCode"/>. <see cref="ReferenceEqualityComparer"/>
/// hashes with the runtime's identity hash, which is stored in the object header, where it pushes a thin lock taken
/// on the same object out into a sync block; a key that overrides <see cref="object.GetHashCode"/> with a fixed number
/// (<see cref="Sessions.Session"/> does) keeps its header free. For a key that does not, this is
/// <see cref="ReferenceEqualityComparer"/>.
/// </summary>
internal sealed class IdentityComparer<T> : IEqualityComparer<T>
    where T : class
{
    public static IdentityComparer<T> Instance { get; } = new();

    public bool Equals(T? x, T? y) => ReferenceEquals(x, y);

    public int GetHashCode(T obj) => obj.GetHashCode();
}
