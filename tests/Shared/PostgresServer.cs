using Heirloom.Postgres.Testing;
using Npgsql;

namespace Heirloom.TestSupport;

/// <summary>
/// The PostgreSQL the tests use: the server HEIRLOOM_POSTGRES names, or a throwaway one started for the test run
/// (so the tests run on a machine with PostgreSQL's programs and no server). Never skipped: with neither, the tests fail
/// and say what to install. Each test works in a schema of its own. One source file, compiled into every test project
/// that needs a server.
/// </summary>
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

    public static string NewSchema() => $"t_{Guid.NewGuid():N}"[..14];

    public async Task<T?> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var source = NpgsqlDataSource.Create(ConnectionString);
        await using var command = source.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        return (T?)await command.ExecuteScalarAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
