using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>A supervisor's recipe for one child (OTP's child specification).</summary>
/// <param name="Id">The child's id, unique within its supervisor.</param>
/// <param name="Start">How to start it.</param>
public sealed record ChildSpec(string Id, ChildStart Start)
{
    /// <summary>When it is restarted. Default <see cref="RestartType.Permanent"/>.</summary>
    public RestartType Restart { get; init; } = RestartType.Permanent;

    /// <summary>Worker or supervisor. Default <see cref="ChildType.Worker"/>.</summary>
    public ChildType Type { get; init; } = ChildType.Worker;

    /// <summary>How it is stopped. Default: 5 s for a worker, <see cref="ChildShutdown.Infinity"/> for a supervisor.</summary>
    public ChildShutdown? Shutdown { get; init; }

    internal ChildShutdown EffectiveShutdown => Shutdown ?? (Type == ChildType.Supervisor ? ChildShutdown.Infinity : ChildShutdown.After(TimeSpan.FromSeconds(5)));

    /// <summary>A worker that is a <see cref="GenServer"/>, started linked to the supervisor.</summary>
    /// <param name="id">The child's id.</param>
    /// <param name="factory">Creates the server object.</param>
    /// <param name="options">Name and start timeout.</param>
    public static ChildSpec ForGenServer(string id, Func<GenServer> factory, GenServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new ChildSpec(id, (supervisor, _) => GenServer.StartLinkAsync(supervisor, factory, options));
    }

    /// <summary>A worker that is a plain process body, spawned linked to the supervisor.</summary>
    /// <param name="id">The child's id.</param>
    /// <param name="body">The process's code.</param>
    public static ChildSpec ForProcess(string id, Func<ProcessContext, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return new ChildSpec(id, (supervisor, _) => Task.FromResult(supervisor.SpawnLink(body)));
    }

    /// <summary>A nested supervisor.</summary>
    /// <param name="id">The child's id.</param>
    /// <param name="options">The nested supervisor's options.</param>
    public static ChildSpec ForSupervisor(string id, SupervisorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ChildSpec(id, (supervisor, _) => Supervisor.StartLinkAsync(supervisor, options)) { Type = ChildType.Supervisor };
    }
}
