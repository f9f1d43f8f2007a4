using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>A data directory that is missing from configuration, or that cannot be a directory, stops the start with
/// a typed error that names it and says what to check.</summary>
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-directory-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static IHost BuildHost(string directory)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHeirloom().AddSupervisor(_ => new SupervisorOptions
        {
            Children = [TableManager.ChildSpec(new TableManagerOptions { Tables = [ManagedTable.Durable<string, long>("counts", new DurabilityOptions(directory))] })],
        });
        return builder.Build();
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public async Task An_empty_directory_is_an_argument_error_naming_the_setting(string directory)
    {
        using var host = BuildHost(directory);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => host.StartAsync());
        Assert.StartsWith("DurabilityOptions.Directory is empty: give the directory the table keeps its journal and snapshots in", error.Message);
    }

    [Fact]
    public async Task A_directory_below_a_file_fails_the_start_with_a_typed_error_naming_it()
    {
        var file = Path.Combine(_directory, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        var directory = Path.Combine(file, "counts");
        using var host = BuildHost(directory);

        var error = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        Assert.Equal("The root supervision tree 1 did not start: child 'table_manager' failed to start.", error.Message);
        var cause = Assert.IsType<DurableDirectoryException>(error.InnerException);
        Assert.Equal(directory, cause.Directory);
        Assert.Contains($"The durable table directory '{directory}'", cause.Message);
        Assert.Contains("Check that every part of the path above it is a directory (not a file)", cause.Message);
    }
}
