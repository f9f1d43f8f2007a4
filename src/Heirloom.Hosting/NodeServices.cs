using Heirloom.Processes;

namespace Heirloom.Hosting;

/// <summary>
/// The services declared with <see cref="HeirloomBuilder.AddNodeService{TService}"/>, in declaration order: each is
/// started with the node before any supervision tree, so that a tree's factory can resolve it, and disposed after the
/// trees have stopped, in reverse order.
/// </summary>
internal sealed class NodeServices
{
    private readonly Lock _lock = new();
    private readonly List<Declared> _declared = [];
    private readonly Dictionary<Type, IAsyncDisposable> _started = [];
    private readonly Stack<IAsyncDisposable> _running = new();

    public int Count => _declared.Count;

    public void Add(Type type, Func<IServiceProvider, Node, CancellationToken, Task<IAsyncDisposable>> start)
    {
        if (_declared.Any(d => d.Type == type))
        {
            throw new ArgumentException($"A node service of type {type.Name} is declared already; a node holds one of each type.", nameof(type));
        }

        _declared.Add(new Declared(type, start));
    }

    /// <summary>The started instance of a declared service.</summary>
    /// <exception cref="InvalidOperationException">It has not started (yet, or any more).</exception>
    public TService Get<TService>()
        where TService : class
    {
        lock (_lock)
        {
            if (_started.TryGetValue(typeof(TService), out var service))
            {
                return (TService)service;
            }
        }

        throw new InvalidOperationException(
            $"The node service {typeof(TService).Name} is not running: the host starts it before its supervision trees and disposes it " +
            "after they stop. Resolve it from a tree's factory, a child's start or a request handler, once the host has started.");
    }

    /// <summary>Starts every declared service in order. When one fails, those started are disposed in reverse order
    /// and the failure is thrown, naming the service.</summary>
    public async Task StartAllAsync(IServiceProvider services, Node node, CancellationToken cancellation)
    {
        foreach (var declared in _declared)
        {
            IAsyncDisposable service;
            try
            {
                service = await declared.Start(services, node, cancellation).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await DisposeAllAsync().ConfigureAwait(false);
                throw new HeirloomStartException($"The node service {declared.Type.Name} did not start: {e.Message}", e);
            }

            lock (_lock)
            {
                _started[declared.Type] = service;
                _running.Push(service);
            }
        }
    }

    /// <summary>Disposes the started services, the last started first. A service whose disposal throws does not keep
    /// the others from being disposed; the first failure is thrown at the end.</summary>
    public async Task DisposeAllAsync()
    {
        Exception? failure = null;
        while (Next() is { } service)
        {
            try
            {
                await service.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    private IAsyncDisposable? Next()
    {
        lock (_lock)
        {
            if (!_running.TryPop(out var service))
            {
                return null;
            }

            foreach (var (type, started) in _started)
            {
                if (ReferenceEquals(started, service))
                {
                    _started.Remove(type);
                    break;
                }
            }

            return service;
        }
    }

    private sealed record Declared(Type Type, Func<IServiceProvider, Node, CancellationToken, Task<IAsyncDisposable>> Start);
}
