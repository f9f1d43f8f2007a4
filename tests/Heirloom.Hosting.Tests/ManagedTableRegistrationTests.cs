using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>One registration per managed table, servers constructed through DI, and typed clients.</summary>
public sealed class ManagedTableRegistrationTests : IDisposable
{
    private readonly CapturingLoggerProvider _logs = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"heirloom-registration-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>Counts per key; logs each write through the logger DI gave it; "poison" crashes it.</summary>
    private sealed class CountingWorker(ILogger<CountingWorker> logger) : TableWorker<string, long>
    {
        protected override async ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case "poison":
                    throw new InvalidOperationException("poisoned");
                case "slow":
                    await Task.Delay(50);
                    return CallResult.Reply(0L);
                case string key:
                    var count = (Table.TryGetValue(key, out var current) ? current : 0) + 1;
                    Table.Insert(key, count);
                    logger.LogInformation("counted {Key}", key);
                    return ReplyWhenDurable(from, count);
                default:
                    return await base.HandleTableCallAsync(request, from);
            }
        }
    }

    /// <summary>Answers with the name of the logger category DI gave it.</summary>
    private sealed class LoggingServer(ILogger<LoggingServer> logger) : GenServer
    {
        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            logger.LogInformation("asked {Request}", request);
            return ValueTask.FromResult(CallResult.Reply(logger is not null));
        }
    }

    private IHost BuildHost(Action<HeirloomBuilder> register)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(_logs);
        register(builder.Services.AddHeirloom());
        return builder.Build();
    }

    [Fact]
    public async Task A_managed_table_registered_once_serves_its_typed_client_and_survives_the_host()
    {
        for (var run = 1; run <= 2; run++)
        {
            using var host = BuildHost(heirloom => heirloom.AddManagedTable<CountingWorker>("counts", table => table.Durable(_directory)));
            await host.StartAsync();
            var counts = host.Services.GetRequiredService<GenServerClient<CountingWorker>>();
            Assert.Equal(run, await counts.CallAsync<long>("alice"));
            Assert.Contains(_logs.Entries, e => e.Message == "counted alice");

            var node = host.Services.GetRequiredService<Node>();
            Assert.True(node.WhereIs("counts.manager").IsAlive);
            Assert.Equal(counts.WhereIs(), node.Tables.WhereIs<string, long>("counts")!.Owner);
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_poison_call_is_failed_and_logged_and_the_calls_queued_behind_it_are_served()
    {
        using var host = BuildHost(heirloom => heirloom.AddManagedTable<CountingWorker>("counts"));
        await host.StartAsync();
        var counts = host.Services.GetRequiredService<GenServerClient<CountingWorker>>();
        var first = counts.WhereIs();

        // The slow call holds the worker so that the poison and the others queue behind it, in this order.
        var slow = counts.CallAsync<long>("slow").AsTask();
        var poison = counts.CallAsync<long>("poison").AsTask();
        var others = Enumerable.Range(0, 20).Select(i => counts.CallAsync<long>($"user{i}").AsTask()).ToArray();

        Assert.Equal(0, await slow);
        var error = await Assert.ThrowsAsync<CallFailedException>(() => poison);
        Assert.True(error.HandlerStarted);
        Assert.IsType<InvalidOperationException>(error.Reason.Exception);
        Assert.Equal(Enumerable.Repeat(1L, 20), await Task.WhenAll(others));
        Assert.NotEqual(first, counts.WhereIs());
        var logged = Assert.Single(_logs.Entries, e => e.Id.Id == 1020);
        Assert.Contains("poison", logged.Message);
        Assert.Contains("counts", logged.Message);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_GenServer_constructed_through_DI_receives_its_logger()
    {
        using var host = BuildHost(heirloom => heirloom.AddGenServer<LoggingServer>("logging"));
        await host.StartAsync();
        var server = host.Services.GetRequiredService<GenServerClient<LoggingServer>>();
        Assert.True(await server.CallAsync<bool>("hello"));
        Assert.Contains(_logs.Entries, e => e.Message == "asked hello");
        await host.StopAsync();
    }

    [Fact]
    public void A_worker_that_is_no_table_worker_or_a_name_given_twice_is_refused_at_registration()
    {
        var builder = Host.CreateApplicationBuilder().Services.AddHeirloom();
        var notWorker = Assert.Throws<ArgumentException>(() => builder.AddManagedTable<LoggingServer>("logging"));
        Assert.Contains("not a TableWorker<TKey, TValue>", notWorker.Message);

        builder.AddManagedTable<CountingWorker>("counts");
        var twice = Assert.Throws<ArgumentException>(() => builder.AddGenServer<LoggingServer>("counts"));
        Assert.Contains("'counts' is registered already", twice.Message);
    }
}
