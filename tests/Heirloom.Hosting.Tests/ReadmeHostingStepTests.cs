using Heirloom.Behaviours;
using Heirloom.Management;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Heirloom.Hosting.Tests;

/// <summary>The README tour's step "in a service", run as written, so it stays true.</summary>
public sealed class ReadmeHostingStepTests
{
    private sealed class Writer : TableWorker<long, string>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            Table.Insert(Table.Count + 1, (string)request);
            return ValueTask.FromResult(CallResult.Reply(Table.Count));
        }
    }

    [Fact]
    public async Task The_service_step_runs_as_written()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddHeirloom().AddManagedTable<Writer>("records");   // key and value types from Writer's base type
        using var host = builder.Build();
        await host.StartAsync();
        var records = host.Services.GetRequiredService<GenServerClient<Writer>>();
        var written = await records.CallAsync<long>("first record");          // 1
        await host.StopAsync();

        Assert.Equal(1, written);
    }
}
