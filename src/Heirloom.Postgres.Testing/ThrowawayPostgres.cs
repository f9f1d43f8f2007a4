using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Heirloom.Postgres.Testing;

/// <summary>
/// A PostgreSQL server of its own, for tests and demos on a machine that has PostgreSQL's binaries but no server to
/// use: <c>initdb</c> into a temporary directory (as the <c>postgres</c> user when running as root, since initdb
/// refuses root), trust authentication, loopback only, a free port, and the keepalive settings that detect a silent
/// client in seconds. Disposing stops it and deletes its directory. Not for production data: it trusts every local
/// connection.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;
    private readonly bool _asPostgresUser;

    private readonly string _listenAddresses;
    private int _maxConnections = 300;

    private ThrowawayPostgres(string bin, string directory, int port, bool asPostgresUser, string listenAddresses)
    {
        _bin = bin;
        _directory = directory;
        Port = port;
        _asPostgresUser = asPostgresUser;
        _listenAddresses = listenAddresses;
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The data directory.</summary>
    public string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>A connection string for its superuser <c>heirloom</c> and database <c>postgres</c>.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=heirloom;Database=postgres;Pooling=true;Timeout=5";

    /// <summary>Where PostgreSQL's programs are: <c>HEIRLOOM_PG_BIN</c>, else the newest /usr/lib/postgresql/N/bin.</summary>
    /// <exception cref="InvalidOperationException">None is installed.</exception>
    public static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("HEIRLOOM_PG_BIN") is { Length: > 0 } configured)
        {
            return configured;
        }

        var found = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0, Bin: Path.Combine(d, "bin")))
                .Where(d => File.Exists(Path.Combine(d.Bin, "initdb")))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Bin)
                .FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            "PostgreSQL's programs (initdb, pg_ctl) were not found in /usr/lib/postgresql/<version>/bin. Install them " +
            "(apt-get install -y postgresql), set HEIRLOOM_PG_BIN to their directory, or give a server's connection string.");
    }

    /// <summary>Creates and starts a server on 127.0.0.1.</summary>
    /// <param name="cancellation">Stops waiting.</param>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or initdb or the start failed (the
    /// message holds their output).</exception>
    public static Task<ThrowawayPostgres> StartAsync(CancellationToken cancellation = default) => StartAsync("127.0.0.1", null, cancellation);

    /// <summary>Creates and starts a server on 127.0.0.1 that accepts at most <paramref name="maxConnections"/>
    /// connections (PostgreSQL's <c>max_connections</c>; 300 otherwise), to see what fits in a server's limit (the
    /// default of a fresh installation is 100).</summary>
    /// <param name="maxConnections">The server's <c>max_connections</c>, at least 10.</param>
    /// <param name="cancellation">Stops waiting.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConnections"/> is below 10.</exception>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or initdb or the start failed.</exception>
    public static Task<ThrowawayPostgres> StartAsync(int maxConnections, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 10);
        return StartAsync("127.0.0.1", null, maxConnections, cancellation);
    }

    /// <summary>Creates and starts a server that also accepts (trusts) clients from <paramref name="trustedNetwork"/>,
    /// such as processes in a network namespace of this machine.</summary>
    /// <param name="listenAddresses">PostgreSQL's <c>listen_addresses</c>, e.g. "127.0.0.1,10.231.0.1" or "*".</param>
    /// <param name="trustedNetwork">A CIDR network whose clients are trusted, e.g. "10.231.0.0/16"; null for loopback only.</param>
    /// <param name="cancellation">Stops waiting.</param>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or initdb or the start failed.</exception>
    public static Task<ThrowawayPostgres> StartAsync(string listenAddresses, string? trustedNetwork, CancellationToken cancellation = default) =>
        StartAsync(listenAddresses, trustedNetwork, 300, cancellation);

    private static async Task<ThrowawayPostgres> StartAsync(string listenAddresses, string? trustedNetwork, int maxConnections, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(listenAddresses);
        var bin = FindBinaries();
        var asPostgresUser = IsRoot();
        var directory = Directory.CreateTempSubdirectory("heirloom-pg-").FullName;
        var server = new ThrowawayPostgres(bin, directory, FreePort(), asPostgresUser, listenAddresses) { _maxConnections = maxConnections };
        try
        {
            if (asPostgresUser)
            {
                await server.RunAsync("chown", ["-R", "postgres:postgres", directory], asPostgres: false, cancellation).ConfigureAwait(false);
            }

            await server.RunAsync(Path.Combine(bin, "initdb"), ["-D", server.DataDirectory, "-A", "trust", "-U", "heirloom", "-E", "UTF8", "--no-sync"], asPostgres: true, cancellation).ConfigureAwait(false);
            if (trustedNetwork is not null)
            {
                await File.AppendAllTextAsync(Path.Combine(server.DataDirectory, "pg_hba.conf"), $"host all all {trustedNetwork} trust\n", cancellation).ConfigureAwait(false);
            }

            await server.StartServerAsync(cancellation).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops the server at once (as a crash would: <c>pg_ctl stop -m immediate</c>) and starts it again on
    /// the same port, after <paramref name="downtime"/>; every connection is broken.</summary>
    /// <param name="downtime">How long it stays down.</param>
    /// <param name="cancellation">Stops waiting.</param>
    public async Task RestartAsync(TimeSpan downtime = default, CancellationToken cancellation = default)
    {
        await CrashAsync(cancellation).ConfigureAwait(false);
        await Task.Delay(downtime, cancellation).ConfigureAwait(false);
        await StartAgainAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Stops the server at once, as a crash would (<c>pg_ctl stop -m immediate</c>); every connection is
    /// broken. <see cref="StartAgainAsync"/> brings it back on the same port.</summary>
    /// <param name="cancellation">Stops waiting.</param>
    public Task CrashAsync(CancellationToken cancellation = default) => StopServerAsync("immediate", cancellation);

    /// <summary>Starts a server stopped by <see cref="CrashAsync"/> again, on the same port, recovering from its
    /// write-ahead log.</summary>
    /// <param name="cancellation">Stops waiting.</param>
    public Task StartAgainAsync(CancellationToken cancellation = default) => StartServerAsync(cancellation);

    /// <summary>Stops the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await StopServerAsync("immediate", CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Already stopped: the directory goes all the same.
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by an exiting server; the temporary directory is the system's to clean.
        }
    }

    private Task StartServerAsync(CancellationToken cancellation)
    {
        // Keepalives and the user timeout make the server notice a client whose machine went silent within a few
        // seconds, which releases that client's advisory locks; see docs/cluster.md.
        var settings = string.Join(' ',
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            $"-c listen_addresses={_listenAddresses}",
            $"-c unix_socket_directories={_directory}",
            $"-c max_connections={_maxConnections.ToString(CultureInfo.InvariantCulture)}",
            "-c shared_buffers=128MB",
            "-c tcp_keepalives_idle=1",
            "-c tcp_keepalives_interval=1",
            "-c tcp_keepalives_count=2",
            "-c tcp_user_timeout=3000",
            "-c client_connection_check_interval=1000");
        return RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-o", settings, "-w", "-t", "30", "start"], asPostgres: true, cancellation);
    }

    private Task StopServerAsync(string mode, CancellationToken cancellation) =>
        RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-m", mode, "-w", "stop"], asPostgres: true, cancellation);

    private async Task RunAsync(string program, string[] arguments, bool asPostgres, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres && _asPostgresUser ? "runuser" : program,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres && _asPostgresUser)
        {
            foreach (var argument in (string[])["-u", "postgres", "--", program])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");

        // pg_ctl's server inherits the pipes; read to the end only of the program's own output by waiting for its exit.
        var output = process.StandardOutput.ReadToEndAsync(cancellation);
        var error = process.StandardError.ReadToEndAsync(cancellation);
        await process.WaitForExitAsync(cancellation).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            var log = Path.Combine(_directory, "server.log");
            var serverLog = File.Exists(log) ? await File.ReadAllTextAsync(log, cancellation).ConfigureAwait(false) : "";
            throw new InvalidOperationException(
                $"{Path.GetFileName(program)} {string.Join(' ', arguments)} exited with {process.ExitCode}: " +
                $"{await error.ConfigureAwait(false)}{await output.ConfigureAwait(false)}{serverLog}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // The effective user's name, as the runtime reads it from the password database.
    private static bool IsRoot() => !OperatingSystem.IsWindows() && Environment.UserName == "root";
}
