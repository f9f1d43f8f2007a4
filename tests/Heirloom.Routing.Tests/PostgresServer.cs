using Heirloom.Postgres.Testing;
using Npgsql;

namespace Heirloom.Routing.Tests;

/// <summary>The PostgreSQL the tests use: the server HEIRLOOM_POSTGRES names, or a throwaway one started for the run.
/// Each test works in a schema of its own.</summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public ThrowawayPostgres? Throwaway { get; private set; }

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("HEIRLOOM_POSTGRES") is { Length: > 0 } configured)
        {
            ConnectionString = configured;
            return;
        }

        Throwaway = await ThrowawayPostgres.StartAsync();
        ConnectionString = Throwaway.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (Throwaway is not null)
        {
            await Throwaway.DisposeAsync();
        }
    }

    public static string NewSchema() => $"r_{Guid.NewGuid():N}"[..14];
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
