using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>The Heirloom.Hosting package's README, run as written.</summary>
public sealed class PackageReadmeTests : IDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("heirloom-readme-").FullName;

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);

    // readme:begin
    sealed class CartWorker(ILogger<CartWorker> logger) : TableWorker<string, int>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            var cart = (string)request;
            var items = (Table.TryGetValue(cart, out var count) ? count : 0) + 1;
            Table.Insert(cart, items);
            logger.LogInformation("Cart {Cart} has {Items} items", cart, items);
            return ValueTask.FromResult(ReplyWhenDurable(from, items));   // answered once its journal record is on disk
        }
    }
    // readme:end

    [Fact]
    public async Task The_package_readme_runs_as_written_and_its_table_is_on_disk()
    {
        string[] args = [];
        var dataDirectory = _dataDirectory;

        // readme:begin
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"))
            .AddManagedTable<CartWorker>("carts", table => table.Durable(Path.Combine(dataDirectory, "carts")));
        builder.Services.AddHealthChecks()
            .AddCheck<HeirloomHealthCheck>("heirloom", tags: ["live", "ready"])
            .AddCheck<ManagedTablesHealthCheck>("heirloom-tables", tags: ["ready"])
            .AddCheck<DurableTablesHealthCheck>("heirloom-journals", tags: ["live", "ready"]);
        using var host = builder.Build();
        await host.StartAsync();

        var carts = host.Services.GetRequiredService<GenServerClient<CartWorker>>();
        var items = await carts.CallAsync<int>("ann");                          // 1, on disk when it returns
        await host.StopAsync();                                                 // within Heirloom:ShutdownTimeout
        // readme:end

        Assert.Equal(1, items);
        await using var node = new Processes.Node();
        var reopened = Persistence.DurableTable.Open<string, int>(node, new Tables.TableOptions { Name = "carts" }, new Persistence.DurabilityOptions(Path.Combine(dataDirectory, "carts")));
        Assert.Equal(1, reopened.Lookup("ann")[0]);
        ReadmeSnippets.AssertBlocksAreRegions("src/Heirloom.Hosting/README.md");
    }
}
