using Broker.Core.Configuration;

namespace Broker.Core.Security;

/// <summary>One switchable module as the plugins routes show it.</summary>
/// <param name="Name">EMQX's plugin name, for example <c>emqx_retainer</c>.</param>
/// <param name="Version">The broker's version.</param>
/// <param name="Description">EMQX's description text.</param>
/// <param name="Active">Whether it is on.</param>
public sealed record ModuleInfo(string Name, string Version, string Description, bool Active);

/// <summary>The outcome of loading or unloading a module.</summary>
public enum ModuleChange
{
    /// <summary>Switched.</summary>
    Done,
    /// <summary>It was already on (EMQX code 110, <c>already_started</c>).</summary>
    AlreadyLoaded,
    /// <summary>It was already off (EMQX code 111, <c>not_started</c>).</summary>
    AlreadyUnloaded,
    /// <summary>No module of that name (<c>not_found</c>).</summary>
    NotFound,
    /// <summary>It cannot be switched off (the management API itself).</summary>
    NotAllowed,
}

/// <summary>
/// EMQX's plugins, mapped onto real switches of the broker (<see cref="BrokerOptions"/> flags): a change applies at
/// once to new connections and to the next message. Names are EMQX's: the 3.x <c>emqx_auth_username</c> and
/// <c>emqx_auth_clientid</c> switch the user database's two kinds of record, 4.4's <c>emqx_auth_mnesia</c> switches
/// both and the ACL database, <c>emqx_acl_mnesia</c> the ACL database alone, <c>emqx_retainer</c> the retained store,
/// <c>emqx_delayed_publish</c> (4.4: <c>emqx_mod_delayed</c>) delayed publish, <c>emqx_sys</c> the $SYS topics.
/// <c>emqx_management</c> is listed as active and cannot be unloaded.
/// </summary>
public sealed class BrokerModules
{
    private readonly MqttBroker _broker;
    private readonly Module[] _modules;

    internal BrokerModules(MqttBroker broker)
    {
        _broker = broker;
        _modules =
        [
            new("emqx_acl_mnesia", "EMQ X ACL with the built-in database", static o => o.AclDatabaseEnabled, static (o, v) => o.AclDatabaseEnabled = v),
            new("emqx_auth_clientid", "EMQ X Authentication with ClientId/Password", static o => o.AuthClientIdEnabled, static (o, v) => o.AuthClientIdEnabled = v),
            new("emqx_auth_mnesia", "EMQ X Authentication and ACL with Mnesia",
                static o => o.AuthUsernameEnabled && o.AuthClientIdEnabled && o.AclDatabaseEnabled,
                static (o, v) => o.AuthUsernameEnabled = o.AuthClientIdEnabled = o.AclDatabaseEnabled = v),
            new("emqx_auth_username", "EMQ X Authentication with Username/Password", static o => o.AuthUsernameEnabled, static (o, v) => o.AuthUsernameEnabled = v),
            new("emqx_delayed_publish", "EMQ X Delayed Publish", static o => o.DelayedPublishEnabled, static (o, v) => o.DelayedPublishEnabled = v),
            new("emqx_management", "EMQ X Management API and CLI", static _ => true, null),
            new("emqx_retainer", "EMQ X Retainer", static o => o.RetainerEnabled, static (o, v) => o.RetainerEnabled = v),
            new("emqx_sys", "EMQ X $SYS Topics", static o => o.SysTopicsEnabled, static (o, v) => o.SysTopicsEnabled = v),
        ];
    }

    /// <summary>Every module, by name.</summary>
    public IReadOnlyList<ModuleInfo> List()
    {
        var list = new ModuleInfo[_modules.Length];
        for (int i = 0; i < list.Length; i++)
        {
            Module module = _modules[i];
            list[i] = new ModuleInfo(module.Name, MqttBroker.Version, module.Description, module.IsActive(_broker.Options));
        }

        return list;
    }

    /// <summary>One module, or null.</summary>
    public ModuleInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Lookup(name) is { } module ? new ModuleInfo(module.Name, MqttBroker.Version, module.Description, module.IsActive(_broker.Options)) : null;
    }

    /// <summary>Switches a module on (<c>PUT .../plugins/{name}/load</c>).</summary>
    public ModuleChange Load(string name) => Switch(name, on: true);

    /// <summary>Switches a module off (<c>PUT .../plugins/{name}/unload</c>).</summary>
    public ModuleChange Unload(string name) => Switch(name, on: false);

    private ModuleChange Switch(string name, bool on)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Lookup(name) is not { } module)
        {
            return ModuleChange.NotFound;
        }

        BrokerOptions options = _broker.Options;
        if (module.IsActive(options) == on)
        {
            return on ? ModuleChange.AlreadyLoaded : ModuleChange.AlreadyUnloaded;
        }

        if (module.Set is null)
        {
            return ModuleChange.NotAllowed;
        }

        module.Set(options, on);
        // Cached ACL answers may rest on the database just switched.
        _broker.Acl.Invalidate();
        return ModuleChange.Done;
    }

    private Module? Lookup(string name)
    {
        if (string.Equals(name, "emqx_mod_delayed", StringComparison.Ordinal))
        {
            name = "emqx_delayed_publish";
        }

        foreach (Module module in _modules)
        {
            if (string.Equals(module.Name, name, StringComparison.Ordinal))
            {
                return module;
            }
        }

        return null;
    }

    private sealed record Module(string Name, string Description, Func<BrokerOptions, bool> IsActive, Action<BrokerOptions, bool>? Set);
}
