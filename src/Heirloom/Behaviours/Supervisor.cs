using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// OTP's supervisor: starts children in order, restarts them by its strategy within the restart intensity, and
/// stops them in reverse order. It traps exits; when its parent stops it, it stops its children first.
/// All requests wait for ever, as OTP's do, since the supervisor may be busy stopping children.
/// </summary>
public static class Supervisor
{
    /// <summary>Starts a supervisor, not linked to the caller, with its children started.</summary>
    /// <param name="node">The node.</param>
    /// <param name="options">Strategy, intensity, period and children.</param>
    /// <exception cref="GenServerStartException">The options are invalid or a child failed to start (the started
    /// ones are stopped); the reason's exception is a <see cref="SupervisorException"/>.</exception>
    public static Task<Pid> StartAsync(Node node, SupervisorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return GenServer.StartAsync(node, () => new SupervisorServer(options), new GenServerOptions { Name = options.Name });
    }

    /// <summary>Starts a supervisor linked to the calling process, for example as a child of another supervisor.</summary>
    /// <param name="parent">The calling process.</param>
    /// <param name="options">Strategy, intensity, period and children.</param>
    /// <exception cref="GenServerStartException">The options are invalid or a child failed to start.</exception>
    public static Task<Pid> StartLinkAsync(ProcessContext parent, SupervisorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return GenServer.StartLinkAsync(parent, () => new SupervisorServer(options), new GenServerOptions { Name = options.Name });
    }

    /// <summary>Adds a child spec and starts the child.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="spec">The child's spec.</param>
    /// <returns>The child's pid, or <see cref="Pid.None"/> when its start returned ignore (the spec is kept).</returns>
    /// <exception cref="SupervisorException">Running, AlreadyPresent, WrongStrategy, InvalidSpec or StartFailed.</exception>
    public static Task<Pid> StartChildAsync(Pid supervisor, ChildSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return RequestAsync<Pid>(supervisor, new SupervisorServer.StartChild(spec));
    }

    /// <summary>Starts a dynamic child of a <see cref="SupervisorStrategy.SimpleOneForOne"/> supervisor.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="argument">Passed to the template spec's <see cref="ChildStart"/>.</param>
    /// <exception cref="SupervisorException">WrongStrategy or StartFailed.</exception>
    public static Task<Pid> StartChildAsync(Pid supervisor, object? argument) =>
        RequestAsync<Pid>(supervisor, new SupervisorServer.StartDynamicChild(argument));

    /// <summary>Stops a child and keeps its spec (a temporary child's spec is forgotten).</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="id">The child's id.</param>
    /// <exception cref="SupervisorException">NotFound, or WrongStrategy for SimpleOneForOne (use the pid).</exception>
    public static Task TerminateChildAsync(Pid supervisor, string id) =>
        RequestAsync<bool>(supervisor, new SupervisorServer.TerminateChild(id, default));

    /// <summary>Stops a dynamic child of a <see cref="SupervisorStrategy.SimpleOneForOne"/> supervisor.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="child">The child's pid.</param>
    /// <exception cref="SupervisorException">NotFound, or WrongStrategy for other strategies.</exception>
    public static Task TerminateChildAsync(Pid supervisor, Pid child) =>
        RequestAsync<bool>(supervisor, new SupervisorServer.TerminateChild(null, child));

    /// <summary>Starts again a child whose spec is kept but which is not running.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="id">The child's id.</param>
    /// <exception cref="SupervisorException">NotFound, Running, WrongStrategy or StartFailed.</exception>
    public static Task<Pid> RestartChildAsync(Pid supervisor, string id) =>
        RequestAsync<Pid>(supervisor, new SupervisorServer.RestartChild(id));

    /// <summary>Forgets the spec of a child that is not running.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="id">The child's id.</param>
    /// <exception cref="SupervisorException">NotFound, Running or WrongStrategy.</exception>
    public static Task DeleteChildAsync(Pid supervisor, string id) =>
        RequestAsync<bool>(supervisor, new SupervisorServer.DeleteChild(id));

    /// <summary>The supervisor's strategy, intensity and the restarts counted against it, and each child with its
    /// restarts.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <exception cref="CallFailedException">It is not alive.</exception>
    public static async Task<SupervisorStatus> GetStatusAsync(Pid supervisor) =>
        (SupervisorStatus)(await GenServer.CallAsync(supervisor, SupervisorServer.GetStatus.Instance).ConfigureAwait(false))!;

    /// <summary>The children, in start order.</summary>
    /// <param name="supervisor">The supervisor.</param>
    public static Task<IReadOnlyList<ChildInfo>> WhichChildrenAsync(Pid supervisor) =>
        RequestAsync<IReadOnlyList<ChildInfo>>(supervisor, SupervisorServer.WhichChildren.Instance);

    /// <summary>How many children there are, and of which kinds.</summary>
    /// <param name="supervisor">The supervisor.</param>
    public static Task<ChildCounts> CountChildrenAsync(Pid supervisor) =>
        RequestAsync<ChildCounts>(supervisor, SupervisorServer.CountChildren.Instance);

    private static async Task<T> RequestAsync<T>(Pid supervisor, object request)
    {
        var reply = await GenServer.CallAsync(supervisor, request, Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        return reply is SupervisorException error ? throw error : (T)reply!;
    }
}
