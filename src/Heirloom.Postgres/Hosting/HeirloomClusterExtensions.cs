using Heirloom.Behaviours;
using Heirloom.Hosting;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Heirloom.Postgres;

/// <summary>A PostgreSQL cluster and its clustered tables in the .NET Generic Host.</summary>
public static class HeirloomClusterExtensions
{
    /// <summary>
    /// Joins a PostgreSQL cluster when the host starts, before the supervision trees (so clustered tables can be
    /// served by them), and leaves it when the host stops, after the trees: the tables this node owns are handed off to
    /// the other nodes rather than left to wait for this node's lease. The <see cref="PostgresCluster"/> is resolvable
    /// from DI while the host runs.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The cluster's section, e.g. <c>builder.Configuration.GetSection("Heirloom:Cluster")</c>:
    /// the properties of <see cref="PostgresClusterOptions"/> (<c>ConnectionString</c> is required), and under
    /// <c>Tables:{name}</c> the <see cref="ClusteredTableSettings"/> of each table added with
    /// <see cref="AddClusteredTable{TWorker}"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A cluster is added already.</exception>
    public static HeirloomBuilder AddPostgresCluster(this HeirloomBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddSingleton(new ClusterConfiguration(configuration));
        return builder.AddPostgresCluster(_ => Bind(configuration));
    }

    /// <summary>Joins a PostgreSQL cluster as <see cref="AddPostgresCluster(HeirloomBuilder, IConfiguration)"/> does,
    /// with options built in code when the host starts.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">Builds the cluster's options from the host's services.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A cluster is added already.</exception>
    public static HeirloomBuilder AddPostgresCluster(this HeirloomBuilder builder, Func<IServiceProvider, PostgresClusterOptions> options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddNodeService((services, node, cancellation) =>
        {
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger<PostgresCluster>();
            return PostgresCluster.StartAsync(node, options(services), logger, cancellation);
        });
    }

    /// <summary>
    /// Adds a clustered table named <paramref name="name"/> and its worker <typeparamref name="TWorker"/>, whose base
    /// type <c>TableWorker&lt;TKey, TValue&gt;</c> gives the table's key and value types. When the host starts, a root
    /// supervision tree starts a <see cref="TableManager"/> (registered as <c>{name}.manager</c>), the worker
    /// (registered as <paramref name="name"/>, constructed through DI) and the table's server on the cluster added with
    /// <c>AddPostgresCluster</c>: this node's worker gets the table when this node owns it. Inject
    /// <see cref="GenServerClient{TServer}"/> of <typeparamref name="TWorker"/> to call it.
    /// </summary>
    /// <typeparam name="TWorker">The worker: a <see cref="TableWorker{TKey, TValue}"/>.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The table's name on every node, which is also the worker's registered name.</param>
    /// <param name="configure">Sets the table's settings in code, after those bound from configuration.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TWorker"/> is not a table worker.</exception>
    public static HeirloomBuilder AddClusteredTable<TWorker>(this HeirloomBuilder builder, string name, Action<ClusteredTableSettings>? configure = null)
        where TWorker : GenServer
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var (key, value) = WorkerTables.TableTypesOf(typeof(TWorker), "clustered table");
        var tree = typeof(HeirloomClusterExtensions).GetMethod(nameof(Tree), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(typeof(TWorker), key, value)
            .CreateDelegate<Func<IServiceProvider, string, Action<ClusteredTableSettings>?, SupervisorOptions>>();
        builder.AddSupervisor(services => tree(services, name, configure));
        builder.Services.AddSingleton(services => new GenServerClient<TWorker>(services.GetRequiredService<Node>(), name));
        return builder;
    }

    /// <summary>The manager, the worker and the table's server, each restarted alone: a worker crash gets the table
    /// back from the manager, and the server keeps the node's ownership meanwhile.</summary>
    private static SupervisorOptions Tree<TWorker, TKey, TValue>(IServiceProvider services, string name, Action<ClusteredTableSettings>? configure)
        where TWorker : GenServer
        where TKey : notnull
    {
        var cluster = services.GetService<PostgresCluster>()
            ?? throw new InvalidOperationException($"Clustered table '{name}' needs a cluster: call AddPostgresCluster on the same builder.");
        var settings = new ClusteredTableSettings(services);
        services.GetService<ClusterConfiguration>()?.Section.GetSection("Tables").GetSection(name).Bind(settings, o => o.ErrorOnUnknownConfiguration = true);
        configure?.Invoke(settings);
        var manager = $"{name}.manager";
        var options = new ClusteredTableOptions
        {
            Name = name,
            Type = settings.Type,
            Access = settings.Access,
            ManagerName = manager,
            WorkerName = name,
            WritesWaitForCommit = settings.WritesWaitForCommit,
            LocalJournal = settings.LocalJournalDirectory is { } directory ? new DurabilityOptions(directory) : null,
            MaxUnshippedWrites = settings.MaxUnshippedWrites,
        };
        return new SupervisorOptions
        {
            Name = $"{name}.tree",
            Strategy = SupervisorStrategy.OneForOne,
            Intensity = settings.MaxRestarts,
            Period = settings.RestartPeriod,
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = manager }, manager),
                services.GenServerChildSpec<TWorker>(name),
                ClusteredTable.ChildSpec(cluster, options, WorkerTables.CodecFor<TKey>(settings.KeyCodec, name, "clustered table"), WorkerTables.CodecFor<TValue>(settings.ValueCodec, name, "clustered table")),
            ],
        };
    }

    private static PostgresClusterOptions Bind(IConfiguration configuration)
    {
        var options = configuration.Get<PostgresClusterOptions>();
        if (options is null || string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            var path = configuration is IConfigurationSection section ? section.Path : "the cluster's configuration";
            throw new ArgumentException($"{path}:ConnectionString is not set; give the PostgreSQL server's connection string there.");
        }

        return options;
    }

    /// <summary>The configuration section the cluster was added from, where each table's settings are found.</summary>
    private sealed record ClusterConfiguration(IConfiguration Section);
}
