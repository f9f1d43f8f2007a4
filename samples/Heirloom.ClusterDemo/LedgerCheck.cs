using Heirloom.Persistence;
using Npgsql;

namespace Heirloom.ClusterDemo;

/// <summary>Reads the ledger's committed keys straight from PostgreSQL, to count acknowledged writes that are missing.</summary>
public static class LedgerCheck
{
    public static async Task<HashSet<long>> CommittedKeysAsync(string connectionString, string schema, string table = ClusterNode.Table)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand($"SELECT key FROM {schema}.rows WHERE table_name = $1 AND state IS NOT NULL");
        command.Parameters.Add(new() { Value = table });
        await using var reader = await command.ExecuteReaderAsync();
        var codec = Codecs.For<long>();
        var keys = new HashSet<long>();
        while (await reader.ReadAsync())
        {
            keys.Add(codec.Read(reader.GetFieldValue<byte[]>(0)));
        }

        return keys;
    }

    /// <summary>The epochs the table went through so far.</summary>
    public static async Task<long> EpochAsync(string connectionString, string schema, string table = ClusterNode.Table)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand($"SELECT epoch FROM {schema}.tables WHERE name = $1");
        command.Parameters.Add(new() { Value = table });
        return (long)(await command.ExecuteScalarAsync() ?? 0L);
    }
}
