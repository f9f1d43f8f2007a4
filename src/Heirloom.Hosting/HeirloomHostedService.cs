using Heirloom.Behaviours;
using Heirloom.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>
/// Runs the host's node: on start, attaches the report logger and the storage failure tracker, then starts the root supervision trees
/// in declaration order (a tree that fails to start fails the host's start); on stop, stops the trees in reverse order
/// and then the node (its remaining processes, then its tables, flushing durable journals), all within one
/// <see cref="HeirloomOptions.ShutdownTimeout"/>, killing what is left when it runs out. A root tree that exits on
/// its own stops the application unless <see cref="HeirloomOptions.StopApplicationWhenRootGivesUp"/> is off.
/// </summary>
internal sealed class HeirloomHostedService(
    Node node,
    SupervisionTrees trees,
    NodeServices nodeServices,
    IServiceProvider services,
    NodeReportLogger reportLogger,
    StorageFailures storageFailures,
    ProcessLabels labels,
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

        await nodeServices.StartAllAsync(services, node, cancellationToken).ConfigureAwait(false);
        try
        {
            await StartTreesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The host does not stop a service whose start failed: the node services (a cluster holding locks) go now.
            await nodeServices.DisposeAllAsync().ConfigureAwait(false);
            throw;
        }

        HeirloomLog.NodeStarted(logger, node.Id, trees.All.Count);
    }

    private async Task StartTreesAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < trees.All.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tree = trees.All[i](services);
            var label = ProcessLabels.RootLabel(tree.Name, i);
            labels.Starting(label);
            var root = await StartTreeAsync(tree, label).ConfigureAwait(false);
            labels.AddRoot(root, label);
            lock (_lock)
            {
                _roots.Add(root);
            }

            _ = WatchRootAsync(root);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Pid[] roots;
        lock (_lock)
        {
            _stopping = true;
            roots = [.. _roots];
        }

        // One budget for the whole node: the trees, the processes outside them, and the killing of what is left.
        // On the node's clock, as every other timeout of the node; the host's token still bounds it in real time.
        var timeout = options.Value.ShutdownTimeout;
        var time = node.TimeProvider;
        var deadline = time.GetTimestamp() + (long)(timeout.TotalSeconds * time.TimestampFrequency);

        // Trees stop in reverse order of their start, each stopping its children in reverse order, as OTP's
        // application shutdown does; a tree already gone is skipped.
        for (var i = roots.Length - 1; i >= 0 && !cancellationToken.IsCancellationRequested; i--)
        {
            var remaining = time.GetElapsedTime(time.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            if (roots[i].IsAlive)
            {
                await StopTreeAsync(roots[i], remaining, cancellationToken).ConfigureAwait(false);
            }
        }

        await DisposeNodeServicesAsync(deadline, cancellationToken).ConfigureAwait(false);
        await DisposeNodeAsync(deadline, timeout, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Starts one root tree. A failure is logged once: the host logs the exception its start fails with, so
    /// the node's own reports of that failure are dropped, and the exception names the tree and the child and holds
    /// the child's own exception, not the chain of wrappers each repeating its message.</summary>
    private async Task<Pid> StartTreeAsync(SupervisorOptions tree, string label)
    {
        reportLogger.Hold();
        try
        {
            var root = await Supervisor.StartAsync(node, tree).ConfigureAwait(false);
            reportLogger.Release(startFailure: null);
            return root;
        }
        catch (Exception e) when (e is SupervisorException or GenServerStartException)
        {
            labels.Starting(null);
            var child = reportLogger.Release(e);
            var what = child is null ? "its supervisor failed to start" : $"child '{child}' failed to start";
            throw new HeirloomStartException($"The {label} did not start: {what}.", Cause(e));
        }
        catch
        {
            reportLogger.Release(startFailure: null);
            throw;
        }
    }

    /// <summary>The exception the failing child threw, under the start exceptions that wrap it at each level.</summary>
    private static Exception Cause(Exception e) =>
        e is SupervisorException or GenServerStartException && e.InnerException is { } inner ? Cause(inner) : e;

    private async Task StopTreeAsync(Pid root, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await GenServer.StopAsync(root, ExitReason.Shutdown, timeout).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CallFailedException or TimeoutException or OperationCanceledException)
        {
            // Gone meanwhile, or too slow: disposing the node below kills what is left.
        }
    }

    /// <summary>Disposes the node services (a cluster hands its tables off) within what is left of the budget; one that
    /// does not finish in time is left to the node's disposal, which ends what it runs.</summary>
    private async Task DisposeNodeServicesAsync(long deadline, CancellationToken cancellationToken)
    {
        if (nodeServices.Count == 0)
        {
            return;
        }

        var time = node.TimeProvider;
        var remaining = time.GetElapsedTime(time.GetTimestamp(), deadline);
        var disposing = nodeServices.DisposeAllAsync();
        try
        {
            await disposing.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            HeirloomLog.NodeServicesStopOverdue(logger, node.Id);
        }
        catch (Exception e)
        {
            HeirloomLog.NodeServiceStopFailed(logger, node.Id, e);
        }
    }

    /// <summary>Disposes the node with what is left of the budget; when that runs out (or the host gives up first),
    /// kills every process left, so that the disposal finishes at once: a process cannot refuse a kill.</summary>
    private async Task DisposeNodeAsync(long deadline, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var disposing = node.DisposeAsync().AsTask();
        var time = node.TimeProvider;
        var remaining = time.GetElapsedTime(time.GetTimestamp(), deadline);
        if (remaining > TimeSpan.Zero && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(disposing, Task.Delay(remaining, time, cancellationToken)).ConfigureAwait(false);
        }

        if (!disposing.IsCompleted)
        {
            var left = node.Processes();
            foreach (var pid in left)
            {
                node.Exit(pid, ExitReason.Kill);
            }

            HeirloomLog.NodeStopOverdue(logger, node.Id, Durations.Format(timeout), left.Count);
        }

        await disposing.ConfigureAwait(false);
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

        var settings = options.Value;
        var tree = labels.Describe(node, root);
        if (!settings.StopApplicationWhenRootGivesUp)
        {
            HeirloomLog.RootSupervisorGaveUp(logger, tree, reason, "the application goes on without it (Heirloom:StopApplicationWhenRootGivesUp is off)");
            return;
        }

        // The exit code says the service failed, so whatever restarts it knows; a code set by someone else stays.
        var exitCode = settings.ExitCodeWhenRootGivesUp is { } code && Environment.ExitCode == 0 ? code : (int?)null;
        if (exitCode is { } set)
        {
            Environment.ExitCode = set;
        }

        HeirloomLog.RootSupervisorGaveUp(logger, tree, reason, exitCode is null
            ? "stopping the application (Heirloom:StopApplicationWhenRootGivesUp)"
            : $"stopping the application with exit code {exitCode} (Heirloom:StopApplicationWhenRootGivesUp, Heirloom:ExitCodeWhenRootGivesUp)");
        lifetime.StopApplication();
    }
}
