using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Heirloom.Hosting;

/// <summary>Declares a managed table, its manager and its worker in one registration.</summary>
public static class HeirloomManagedTableExtensions
{
    /// <summary>
    /// Adds a managed table named <paramref name="name"/> and its worker <typeparamref name="TWorker"/>, whose base
    /// type <c>TableWorker&lt;TKey, TValue&gt;</c> gives the table's key and value types. When the host starts, a root
    /// supervision tree starts a <see cref="TableManager"/> (registered as <c>{name}.manager</c>) that creates or
    /// recovers the table and the worker (registered as <paramref name="name"/>, constructed through DI, so its
    /// constructor may take an <c>ILogger&lt;TWorker&gt;</c> or any service); a crashed worker is restarted with the
    /// table, and the calls queued for it are served by its successor. Inject <see cref="GenServerClient{TServer}"/>
    /// of <typeparamref name="TWorker"/> to call it.
    /// </summary>
    /// <typeparam name="TWorker">The worker: a <see cref="TableWorker{TKey, TValue}"/>.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The table's name, which is also the worker's registered name.</param>
    /// <param name="configure">Durability, access, codecs, restart intensity; runs when the host starts.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TWorker"/> is not a table worker, or a table of that
    /// name is registered already.</exception>
    public static HeirloomBuilder AddManagedTable<TWorker>(this HeirloomBuilder builder, string name, Action<ManagedTableSettings>? configure = null)
        where TWorker : GenServer
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var (key, value) = WorkerTables.TableTypesOf(typeof(TWorker), "managed table");
        var names = RegisteredNames(builder.Services);
        if (!names.Add(name))
        {
            throw new ArgumentException($"A managed table or server named '{name}' is registered already; give each its own name.", nameof(name));
        }

        var tree = typeof(HeirloomManagedTableExtensions).GetMethod(nameof(Tree), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(typeof(TWorker), key, value)
            .CreateDelegate<Func<IServiceProvider, string, Action<ManagedTableSettings>?, SupervisorOptions>>();
        builder.AddSupervisor(services => tree(services, name, configure));
        builder.Services.AddSingleton(services => new GenServerClient<TWorker>(services.GetRequiredService<Node>(), name));
        return builder;
    }

    /// <summary>The manager first, then the worker, under RestForOne: a crashed worker restarts alone and gets the
    /// table from the manager; a manager that dies takes the worker with it, and its successor recovers the table.</summary>
    private static SupervisorOptions Tree<TWorker, TKey, TValue>(IServiceProvider services, string name, Action<ManagedTableSettings>? configure)
        where TWorker : GenServer
        where TKey : notnull
    {
        var settings = new ManagedTableSettings(services);
        configure?.Invoke(settings);
        var table = settings.Durability is { } durability
            ? ManagedTable.Durable(name, durability, WorkerTables.CodecFor<TKey>(settings.KeyCodec, name, "managed table"), WorkerTables.CodecFor<TValue>(settings.ValueCodec, name, "managed table"))
            : ManagedTable.For<TKey, TValue>(name);
        var manager = $"{name}.manager";
        return new SupervisorOptions
        {
            Name = $"{name}.tree",
            Strategy = SupervisorStrategy.RestForOne,
            Intensity = settings.MaxRestarts,
            Period = settings.RestartPeriod,
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = manager, Tables = [table with { FindMeName = name, Options = new TableOptions { Access = settings.Access, Type = settings.Type } }] }, manager),
                services.GenServerChildSpec<TWorker>(name),
            ],
        };
    }

    /// <summary>The names registered through this builder's services, to refuse a second registration of one.</summary>
    internal static HashSet<string> RegisteredNames(IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(RegisteredServerNames))?.ImplementationInstance is RegisteredServerNames names)
        {
            return names.Names;
        }

        var created = new RegisteredServerNames();
        services.AddSingleton(created);
        return created.Names;
    }

    /// <summary>The names of the managed tables and servers registered with a service collection.</summary>
    internal sealed class RegisteredServerNames
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
    }
}
