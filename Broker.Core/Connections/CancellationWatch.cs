namespace Broker.Core.Connections;

/// <summary>
/// One registration per distinct <see cref="CancellationToken"/> however many connections were given it, counted so
/// the registration goes when its last connection ends. A listener hands the same token to every connection it
/// accepts; registering per connection would cost a linked source and callback nodes (~400 bytes) per idle connection.
/// </summary>
internal sealed class CancellationWatch : IDisposable
{
    private readonly Dictionary<CancellationToken, Entry> _tokens = [];
    private readonly Action<object?, CancellationToken> _callback;
    private readonly object? _state;
    private readonly Lock _lock = new();

    public CancellationWatch(Action<object?, CancellationToken> callback, object? state)
    {
        _callback = callback;
        _state = state;
    }

    /// <summary>Counts one more user of <paramref name="token"/>; the first registers the callback.</summary>
    public void Add(CancellationToken token)
    {
        lock (_lock)
        {
            if (_tokens.TryGetValue(token, out Entry entry))
            {
                _tokens[token] = entry with { Users = entry.Users + 1 };
                return;
            }
        }

        // Registered outside the lock: a token cancelled already runs the callback inline, and the callback may
        // end connections, which takes the lock. A second registration lost to a race is unregistered again.
        CancellationTokenRegistration registration = token.UnsafeRegister(_callback, _state);
        CancellationTokenRegistration? redundant = null;
        lock (_lock)
        {
            if (_tokens.TryGetValue(token, out Entry entry))
            {
                _tokens[token] = entry with { Users = entry.Users + 1 };
                redundant = registration;
            }
            else
            {
                _tokens[token] = new Entry(registration, 1);
            }
        }

        redundant?.Unregister();
    }

    /// <summary>Counts one user less; the last unregisters (without waiting for a callback that is running).</summary>
    public void Remove(CancellationToken token)
    {
        CancellationTokenRegistration? last = null;
        lock (_lock)
        {
            if (!_tokens.TryGetValue(token, out Entry entry))
            {
                return;
            }

            if (entry.Users == 1)
            {
                _tokens.Remove(token);
                last = entry.Registration;
            }
            else
            {
                _tokens[token] = entry with { Users = entry.Users - 1 };
            }
        }

        last?.Unregister();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (Entry entry in _tokens.Values)
            {
                entry.Registration.Unregister();
            }

            _tokens.Clear();
        }
    }

    private readonly record struct Entry(CancellationTokenRegistration Registration, int Users);
}
