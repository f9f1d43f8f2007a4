using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// The cluster's tables in PostgreSQL, all in one schema: <c>nodes</c> (membership: heartbeat, weight, the tables the
/// node waits for as a standby, the address other nodes reach it at for routed calls, and the backend of the node's lock session, which lives exactly as long as the node's
/// locks), <c>tables</c> (the clustered
/// tables, each with its epoch, the fencing token, the sequence of its last committed write, and the node a planned
/// hand-off reserves it for, until when), <c>leases</c> (one per lock session, by its backend: when the session last
/// renewed the lease of every table it holds) and <c>rows</c> (each
/// key's whole state, a deleted key kept as a tombstone so that standbys following the changes see it go), and the
/// function every commit runs, which checks the epoch in the same transaction as it writes.
/// </summary>
internal sealed partial class ClusterSchema
{
    /// <summary>The SQLSTATE a commit raises when the table's epoch is no longer the committer's.</summary>
    public const string FencedState = "HL001";

    /// <summary>The SQLSTATE a commit raises when the commit before it (its sequences) is not committed: it is made
    /// again once that one is.</summary>
    public const string OutOfOrderState = "HL002";

    public ClusterSchema(string name)
    {
        if (!Identifier().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a usable schema name: use lower-case letters, digits and underscores, starting with a letter.", nameof(name));
        }

        Name = name;
    }

    public string Name { get; }

    /// <summary>The channel commits notify, with the table's name as payload.</summary>
    public string Channel => $"{Name}_rows";

    /// <summary>The channel a node notifies when it releases a table's lock, with the table's name as payload.</summary>
    public string ReleasedChannel => $"{Name}_released";

    /// <summary>The channel a node notifies when it has taken a table over (its worker has the table), with the table's
    /// name as payload: the node that handed the table off counts its move done then.</summary>
    public string TakenChannel => $"{Name}_taken";

    /// <summary>The channel a node notifies when the tables it serves or waits for changed, with its id as payload.</summary>
    public string MembersChannel => $"{Name}_members";

    public string Nodes => $"{Name}.nodes";

    public string Tables => $"{Name}.tables";

    public string Rows => $"{Name}.rows";

    public string Leases => $"{Name}.leases";

    public string Commit => $"{Name}.commit_rows";

    /// <summary>Creates what is missing, unless the schema says it is current already: its comment names the version
    /// of the definitions below (a hash of their text) that last ran there. A running cluster's statements never meet
    /// the exclusive locks that altering its tables takes, which would stall its commits and could deadlock its readers,
    /// when a node starts or restarts; only the first node of a new version runs the definitions. Several nodes may
    /// start at once, so running them is serialized by a transaction lock.</summary>
    public async Task EnsureAsync(NpgsqlDataSource source, CancellationToken cancellation)
    {
        var definitions = Definitions();
        var version = "heirloom cluster schema " + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(definitions)))[..16];
        await using var connection = await source.OpenConnectionAsync(cancellation).ConfigureAwait(false);
        await using (var current = new NpgsqlCommand("SELECT obj_description(to_regnamespace($1)::oid, 'pg_namespace')", connection))
        {
            current.Parameters.Add(new() { Value = Name });
            if (await current.ExecuteScalarAsync(cancellation).ConfigureAwait(false) as string == version)
            {
                return;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellation).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(definitions + $"COMMENT ON SCHEMA {Name} IS '{version}';", connection, transaction);
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        await transaction.CommitAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Every definition, each idempotent, in one script.</summary>
    private string Definitions() => $"""
            SELECT pg_advisory_xact_lock(hashtextextended('heirloom.schema:{Name}', 0));
            CREATE SCHEMA IF NOT EXISTS {Name};
            CREATE TABLE IF NOT EXISTS {Nodes} (
                node_id text PRIMARY KEY,
                host text NOT NULL,
                process_id integer NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(),
                last_seen timestamptz NOT NULL DEFAULT now());
            ALTER TABLE {Nodes} ADD COLUMN IF NOT EXISTS serving text[] NOT NULL DEFAULT ARRAY[]::text[];
            ALTER TABLE {Nodes} ADD COLUMN IF NOT EXISTS weight double precision NOT NULL DEFAULT 1;
            ALTER TABLE {Nodes} ADD COLUMN IF NOT EXISTS lock_backend integer;
            ALTER TABLE {Nodes} ADD COLUMN IF NOT EXISTS waiting text[] NOT NULL DEFAULT ARRAY[]::text[];
            ALTER TABLE {Nodes} ADD COLUMN IF NOT EXISTS leaving boolean NOT NULL DEFAULT false;
            ALTER TABLE {Nodes} ADD COLUMN IF NOT EXISTS address text;
            CREATE TABLE IF NOT EXISTS {Tables} (
                name text PRIMARY KEY,
                table_type text NOT NULL,
                key_codec text NOT NULL,
                value_codec text NOT NULL,
                epoch bigint NOT NULL DEFAULT 0,
                last_sequence bigint NOT NULL DEFAULT 0,
                owner_node text,
                owned_since timestamptz,
                owner_backend integer,
                renewed_at timestamptz);
            ALTER TABLE {Tables} ADD COLUMN IF NOT EXISTS handoff_to text;
            ALTER TABLE {Tables} ADD COLUMN IF NOT EXISTS handoff_until timestamptz;
            CREATE TABLE IF NOT EXISTS {Leases} (
                backend integer PRIMARY KEY,
                node_id text NOT NULL,
                renewed_at timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS {Rows} (
                table_name text NOT NULL,
                key bytea NOT NULL,
                state bytea,
                sequence bigint NOT NULL,
                PRIMARY KEY (table_name, key));
            CREATE INDEX IF NOT EXISTS rows_by_sequence ON {Rows} (table_name, sequence);
            CREATE OR REPLACE FUNCTION {Commit}(p_table text, p_epoch bigint, p_first bigint, p_last bigint, p_cleared bigint,
                                                p_keys bytea[], p_states bytea[], p_sequences bigint[])
            RETURNS void LANGUAGE plpgsql AS $body$
            DECLARE
                v_epoch bigint;
                v_last bigint;
            BEGIN
                -- Commits of one table overlap: the rows are written first, with no lock on the table's row, and each
                -- key's row only ever moves to a higher sequence. The commit's successor waits for this lock before
                -- its last step, so commits become visible in the order of their sequences.
                PERFORM pg_advisory_xact_lock(hashtextextended('heirloom.commit:{Name}.' || p_table || ':' || p_last, 0));
                IF p_cleared > 0 THEN
                    UPDATE {Rows} SET state = NULL, sequence = p_cleared
                        WHERE table_name = p_table AND state IS NOT NULL AND sequence < p_cleared;
                END IF;
                INSERT INTO {Rows} AS r (table_name, key, state, sequence)
                    SELECT p_table, u.k, u.s, u.q FROM unnest(p_keys, p_states, p_sequences) AS u(k, s, q) ORDER BY u.k
                    ON CONFLICT (table_name, key) DO UPDATE SET state = excluded.state, sequence = excluded.sequence
                        WHERE r.sequence < excluded.sequence;
                PERFORM pg_notify('{Channel}', p_table);
                PERFORM pg_advisory_xact_lock_shared(hashtextextended('heirloom.commit:{Name}.' || p_table || ':' || (p_first - 1), 0));
                -- The epoch check comes last, in the one statement that takes the table's row lock: a takeover's epoch
                -- bump takes the same lock, so it waits for a commit that got here first, and a commit that comes after
                -- it finds the epoch moved. The row lock is held from here to the end of the commit only.
                UPDATE {Tables} SET last_sequence = p_last WHERE name = p_table AND epoch = p_epoch AND last_sequence = p_first - 1;
                IF FOUND THEN
                    RETURN;
                END IF;
                SELECT epoch, last_sequence INTO v_epoch, v_last FROM {Tables} WHERE name = p_table;
                IF v_epoch IS DISTINCT FROM p_epoch THEN
                    RAISE EXCEPTION 'clustered table % is no longer owned at epoch %', p_table, p_epoch
                        USING ERRCODE = '{FencedState}';
                END IF;
                IF v_last < p_last THEN
                    RAISE EXCEPTION 'clustered table %: the commit of sequences % to % came before sequence % was committed', p_table, p_first, p_last, v_last + 1
                        USING ERRCODE = '{OutOfOrderState}';
                END IF;
                -- Made already (this is a retry after a lost connection): every row above was written at its sequence
                -- or a later one, so nothing changed.
            END
            $body$;

            """;

    [GeneratedRegex("^[a-z][a-z0-9_]{0,47}$")]
    private static partial Regex Identifier();
}
