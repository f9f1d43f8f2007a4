using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Testing;

namespace Heirloom.Tests;

/// <summary>The Heirloom package's README, run as written.</summary>
public sealed class PackageReadmeTests
{
    // readme:begin
    sealed class Writer : TableWorker<long, string>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            Table.Insert(Table.Count + 1, (string)request);                 // the table is always here
            return ValueTask.FromResult(CallResult.Reply(Table.Count));
        }
    }
    // readme:end

    [Fact]
    public async Task The_package_readme_runs_as_written()
    {
        // readme:begin
        await using var node = new Node();
        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions
                {
                    Tables = [ManagedTable.For<long, string>("records") with { FindMeName = "writer" }],
                }),
                ChildSpec.ForGenServer("writer", () => new Writer(), new GenServerOptions { Name = "writer" }),
            ],
        });
        await GenServer.CallAsync<long>(node, "writer", "first record");               // 1
        node.Exit(node.WhereIs("writer"), ExitReason.Kill);                            // the supervisor starts a new writer
        var count = await GenServer.CallAsync<long>(node, "writer", "second record");  // 2: the table came with it
        // readme:end

        Assert.Equal(2, count);
        ReadmeSnippets.AssertBlocksAreRegions("src/Heirloom/README.md");
    }
}
