using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>Services that live with the node: started before the trees, disposed after them.</summary>
public sealed class NodeServiceTests
{
    private readonly ConcurrentQueue<string> _events = new();

    private sealed class Recorded(string name, Action<string> record, bool failDisposal = false) : IAsyncDisposable
    {
        public string Name => name;

        public ValueTask DisposeAsync()
        {
            record($"{name} disposed");
            return failDisposal ? throw new IOException($"{name} could not leave") : ValueTask.CompletedTask;
        }
    }

    private sealed class First(Recorded inner) : IAsyncDisposable
    {
        public Recorded Inner => inner;

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class Second(Recorded inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private HostApplicationBuilder Builder()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        return builder;
    }

    private Task<T> Started<T>(string name, Func<Recorded, T> wrap, bool failDisposal = false)
    {
        _events.Enqueue($"{name} started");
        return Task.FromResult(wrap(new Recorded(name, _events.Enqueue, failDisposal)));
    }

    [Fact]
    public async Task Services_start_in_order_before_the_trees_and_are_disposed_in_reverse_order_after_them()
    {
        var builder = Builder();
        builder.Services.AddHeirloom()
            .AddNodeService((_, _, _) => Started("first", r => new First(r)))
            .AddNodeService((_, _, _) => Started("second", r => new Second(r)))
            .AddSupervisor(services =>
            {
                // A tree's factory runs after the services started, so it can take them.
                var first = services.GetRequiredService<First>();
                return new SupervisorOptions { Children = [ChildSpec.ForGenServer("tree", () => new RecordingServer($"tree of {first.Inner.Name}", _events.Enqueue))] };
            });
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal(["first started", "second started", "tree of first started", "tree of first terminated shutdown", "second disposed", "first disposed"], _events);
    }

    [Fact]
    public async Task A_service_that_fails_to_start_fails_the_host_and_those_started_before_it_are_disposed()
    {
        var builder = Builder();
        builder.Services.AddHeirloom()
            .AddNodeService((_, _, _) => Started("first", r => new First(r)))
            .AddNodeService<Second>((_, _, _) => throw new TimeoutException("the server did not answer"))
            .AddSupervisor(_ => throw new InvalidOperationException("no tree starts after a failed service"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        Assert.Equal("The node service Second did not start: the server did not answer", e.Message);
        Assert.IsType<TimeoutException>(e.InnerException);
        Assert.Equal(["first started", "first disposed"], _events);
    }

    [Fact]
    public async Task A_tree_that_fails_to_start_disposes_the_services()
    {
        var builder = Builder();
        builder.Services.AddHeirloom()
            .AddNodeService((_, _, _) => Started("first", r => new First(r)))
            .AddSupervisor(new SupervisorOptions { Children = [new ChildSpec("broken", (_, _) => throw new InvalidOperationException("broken child"))] });
        using var host = builder.Build();

        await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        Assert.Equal(["first started", "first disposed"], _events);
    }

    [Fact]
    public async Task A_service_whose_disposal_fails_does_not_keep_the_others_or_the_node_from_stopping()
    {
        var builder = Builder();
        builder.Services.AddHeirloom()
            .AddNodeService((_, _, _) => Started("first", r => new First(r)))
            .AddNodeService((_, _, _) => Started("second", r => new Second(r), failDisposal: true));
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal(["first started", "second started", "second disposed", "first disposed"], _events);
        Assert.Equal(0, host.Services.GetRequiredService<Node>().ProcessCount);
    }

    [Fact]
    public void A_service_type_is_declared_once_and_resolving_one_before_the_host_starts_says_why_it_cannot()
    {
        var builder = Builder();
        var heirloom = builder.Services.AddHeirloom().AddNodeService((_, _, _) => Started("first", r => new First(r)));
        Assert.Throws<ArgumentException>(() => heirloom.AddNodeService((_, _, _) => Started("again", r => new First(r))));
        using var host = builder.Build();

        var e = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<First>());
        Assert.Contains("First is not running", e.Message);
    }
}
