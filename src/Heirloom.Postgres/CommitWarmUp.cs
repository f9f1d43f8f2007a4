using Npgsql;
using NpgsqlTypes;

namespace Heirloom.Postgres;

/// <summary>
/// Runs the commit function once on each new pooled connection, for a table that cannot exist (the empty name, which
/// no clustered table may have): every statement in it is planned and executed on nothing, and the epoch check at its
/// end refuses it, so nothing is written and no notification is sent (a failed statement's notifications are dropped).
/// A backend's first call of the function otherwise costs several times a steady commit (the function compiled, its
/// statements planned, the catalog entries they need loaded), and that call would be the first commit after a takeover.
/// </summary>
internal static class CommitWarmUp
{
    /// <summary>Warms <paramref name="connection"/> (a physical connection's initializer, synchronous opens).</summary>
    public static void Run(NpgsqlConnection connection, ClusterSchema schema)
    {
        using var command = Command(connection, schema);
        try
        {
            command.ExecuteNonQuery();
        }
        catch (PostgresException)
        {
            // Refused as it should be, or the schema is not made yet (a first node's start): the connection is fine.
        }
    }

    /// <summary>Warms <paramref name="connection"/> (a physical connection's initializer, asynchronous opens).</summary>
    public static async Task RunAsync(NpgsqlConnection connection, ClusterSchema schema)
    {
        await using var command = Command(connection, schema);
        try
        {
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (PostgresException)
        {
            // Refused as it should be, or the schema is not made yet (a first node's start): the connection is fine.
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, ClusterSchema schema)
    {
        var command = new NpgsqlCommand($"SELECT {schema.Commit}($1, $2, $3, $4, $5, $6, $7, $8)", connection);
        command.Parameters.Add(new() { Value = "" });
        command.Parameters.Add(new() { Value = -1L });
        command.Parameters.Add(new() { Value = 1L });
        command.Parameters.Add(new() { Value = 1L });
        command.Parameters.Add(new() { Value = 0L });
        command.Parameters.Add(new() { Value = Array.Empty<byte[]>(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = Array.Empty<byte[]>(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = Array.Empty<long>(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        return command;
    }
}
