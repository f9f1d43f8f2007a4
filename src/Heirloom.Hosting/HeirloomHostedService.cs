using Heirloom.Behaviours;
using Heirloom.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>
/// Runs the host's node: on start, attaches the report logger and the storage failure tracker, then starts the root supervision trees
/// in declaration order (a tree that fails to start fails the host's start); on stop, stops the trees in reverse order
/// and then the node (its remaining processes, then its tables, flushing durable journals). A root tree that exits on
/// its own stops the application unless <see cref="HeirloomOptions.StopApplicationWhenRootGivesUp"/> is off.
/// </summary>
internal sealed class HeirloomHostedService(
    Node node,
    SupervisionTrees trees,
    IServiceProvider services,
    NodeReportLogger reportLogger,
    StorageFailures storageFailures,
    IHostApplicationLifetime lifetime,
    IOptions<HeirloomOptions> options,
    ILogger<HeirloomHostedService> logger) : IHostedService
{
    private readonly Lock _lock = new();
    private readonly List<Pid> _roots = [];
    private bool _running;
    private bool _stopping;

    public Node Node => node;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        reportLogger.Attach(node);
        storageFailures.Attach(node);
        lock (_lock)
        {
            _running = true;
        }

        foreach (var tree in trees.All)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var root = await Supervisor.StartAsync(node, tree(services)).ConfigureAwait(false);
            lock (_lock)
            {
                _roots.Add(root);
            }

            _ = WatchRootAsync(root);
        }

        HeirloomLog.NodeStarted(logger, node.Id, trees.All.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Pid[] roots;
        lock (_lock)
        {
            _stopping = true;
            roots = [.. _roots];
        }

        // Trees stop in reverse order of their start, each stopping its children in reverse order, as OTP's
        // application shutdown does; a tree already gone is skipped.
        for (var i = roots.Length - 1; i >= 0; i--)
        {
            if (roots[i].IsAlive)
            {
                await StopTreeAsync(roots[i], cancellationToken).ConfigureAwait(false);
            }
        }

        await node.DisposeAsync().ConfigureAwait(false);
        lock (_lock)
        {
            _running = false;
        }

        reportLogger.Detach(node);
        storageFailures.Detach(node);
        HeirloomLog.NodeStopped(logger, node.Id);
    }

    /// <summary>Whether the node runs, how many root trees it started, and how many of them are gone.</summary>
    internal (bool Running, int Roots, int DeadRoots) State()
    {
        lock (_lock)
        {
            return (_running, _roots.Count, _roots.Count(r => !r.IsAlive));
        }
    }

    private async Task StopTreeAsync(Pid root, CancellationToken cancellationToken)
    {
        try
        {
            await GenServer.StopAsync(root, ExitReason.Shutdown, options.Value.ShutdownTimeout).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CallFailedException or TimeoutException or OperationCanceledException)
        {
            // Gone meanwhile, or too slow: disposing the node below stops what is left.
        }
    }

    private async Task WatchRootAsync(Pid root)
    {
        var reason = await node.WhenExited(root).ConfigureAwait(false);
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }
        }

        var stop = options.Value.StopApplicationWhenRootGivesUp;
        HeirloomLog.RootSupervisorGaveUp(logger, root, reason, stop ? "stopping the application" : "the application goes on without it (StopApplicationWhenRootGivesUp is off)");
        if (stop)
        {
            lifetime.StopApplication();
        }
    }
}
