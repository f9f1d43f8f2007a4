using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;

namespace Heirloom.Testing;

/// <summary>
/// A node run by a simulation: the real runtime, tables, table manager and durable tables, with every piece of work
/// run one at a time on one thread in an order drawn from the run's seed, on a virtual clock that jumps to the next timer
/// when nothing is ready. A scenario (<see cref="Simulation.Run"/>) gets one, starts its tree on <see cref="Node"/>,
/// states its invariants and lets time pass with <see cref="RunAsync"/>, during which faults are injected.
/// </summary>
/// <remarks>Not thread-safe, by design: everything on it runs on the simulation's thread.</remarks>
public sealed class SimulatedNode
{
    private readonly SimulationOptions _options;
    private readonly VirtualClock _clock = new();
    private readonly SimulationScheduler _scheduler;
    private readonly Random _faultRandom;
    private readonly Random _diskRandom;
    private readonly IReadOnlyList<Fault>? _givenFaults;
    private readonly List<Fault> _faults = [];
    private readonly List<(string Name, Func<bool> Holds)> _invariants = [];
    private readonly HashSet<Pid> _protected = [];
    private readonly List<VirtualTimer> _due = [];
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<string>? _lines;
    private readonly string _scratch;
    private SimulatedFileSystem? _disk;
    private Exception? _failure;
    private int _nextGivenFault;
    private bool _faulting;
    private bool _throwPending;

    internal SimulatedNode(long seed, SimulationOptions options, IReadOnlyList<Fault>? faults)
    {
        Seed = seed;
        _options = options;
        _givenFaults = faults;

        // Separate streams, so that drawing a fault never shifts the scheduler's choices, nor the scenario's own.
        _scheduler = new SimulationScheduler(new Random(unchecked((int)seed)));
        _faultRandom = new Random(unchecked((int)(seed * 31 + 7)));
        _diskRandom = new Random(unchecked((int)(seed * 31 + 11)));
        Random = new Random(unchecked((int)(seed * 31 + 13)));
        _lines = options.KeepTrace ? [] : null;
        var scratchRoot = options.ScratchDirectory ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        _scratch = Path.Combine(scratchRoot, $"heirloom-sim-{seed}-{Guid.NewGuid():N}");
        Node = CreateNode();
    }

    /// <summary>The run's seed.</summary>
    public long Seed { get; }

    /// <summary>The node the scenario runs on. A new one after <see cref="PowerLossAsync"/>.</summary>
    public Node Node { get; private set; }

    /// <summary>The node's virtual clock.</summary>
    public TimeProvider Time => _clock;

    /// <summary>Virtual time since the run started.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(_clock.Now);

    /// <summary>A random stream of the run's seed, for the scenario's own choices (which key to write, when to call):
    /// separate from the scheduler's and the faults', so that using it changes neither.</summary>
    public Random Random { get; }

    /// <summary>How many pieces of work have run.</summary>
    public long Step { get; private set; }

    /// <summary>Adds a line to the run's trace (messages, acknowledgements, anything whose order should repeat).</summary>
    /// <param name="line">The line; it should not contain what differs between runs of a seed (real time, GUIDs).</param>
    public void Trace(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var text = string.Create(CultureInfo.InvariantCulture, $"{_clock.Now} {line}");
        _lines?.Add(text);
        _hash.AppendData(Encoding.UTF8.GetBytes(text));
        _hash.AppendData("\n"u8);
    }

    /// <summary>States a property checked after every step and at the end of the run; the run fails with
    /// <see cref="InvariantViolationException"/> the first time it is false. Keep it cheap: it runs at every step.</summary>
    /// <param name="name">What the property says, as the failure will name it.</param>
    /// <param name="holds">Whether it holds now.</param>
    public void Invariant(string name, Func<bool> holds)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(holds);
        _invariants.Add((name, holds));
    }

    /// <summary>Checks a property once, now (typically at the end, after recovery).</summary>
    /// <param name="name">What the property says.</param>
    /// <param name="holds">Whether it holds.</param>
    /// <exception cref="InvariantViolationException">It does not.</exception>
    public void Check(string name, bool holds)
    {
        if (!holds)
        {
            throw new InvariantViolationException(name, Step, Elapsed);
        }
    }

    /// <summary>Lets <paramref name="duration"/> of virtual time pass while the tree runs, injecting faults drawn from the run's seed
    /// (kills, handler exceptions, disk faults) as it goes.</summary>
    /// <param name="duration">Virtual time to let pass.</param>
    public async Task RunAsync(TimeSpan duration)
    {
        _faulting = true;
        try
        {
            await Task.Delay(duration, Time);
        }
        finally
        {
            _faulting = false;
        }
    }

    /// <summary>Lets <paramref name="duration"/> of virtual time pass with no fault injected.</summary>
    /// <param name="duration">Virtual time to let pass.</param>
    public Task AdvanceAsync(TimeSpan duration) => Task.Delay(duration, Time);

    /// <summary>A place in user code (a handler) where the simulation may inject an exception: throws
    /// <see cref="InjectedFaultException"/> when a <see cref="FaultKind.Throw"/> fault is pending, else does nothing.</summary>
    /// <param name="site">A name for the place, carried by the exception.</param>
    public void FaultPoint(string site)
    {
        if (_throwPending)
        {
            _throwPending = false;
            Trace($"fault throw {site}");
            throw new InjectedFaultException(site);
        }
    }

    /// <summary>Keeps a process out of kills drawn from the run's seed (the tree's root, a probe).</summary>
    /// <param name="pid">The process.</param>
    public void Protect(Pid pid) => _protected.Add(pid);

    /// <summary>Durability options for a durable table on the simulated disk: its directory is
    /// <paramref name="name"/> under the run's scratch directory, and its files go through the simulated disk (power loss,
    /// torn writes, injected faults).</summary>
    /// <param name="name">The table's directory name.</param>
    public DurabilityOptions Durability(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new DurabilityOptions(Path.Combine(_scratch, name)) { FileSystem = Disk };
    }

    /// <summary>
    /// The machine loses power and comes back: the simulated disk keeps only what was fsynced (plus a seeded part of
    /// what followed, a torn write), the node dies with nothing more reaching the disk, and a fresh node
    /// (<see cref="Node"/>) starts on the same disk and clock for the scenario to recover on.
    /// </summary>
    public async Task PowerLossAsync()
    {
        Trace("power loss");
        Disk.PowerLoss(_diskRandom);
        var old = Node;
        _protected.Clear();
        await old.DisposeAsync();
        Disk.PowerBack();
        Node = CreateNode();
        Trace("power back");
    }

    /// <summary>Starts a probe: a process that keeps what it receives, for <see cref="Probe.ExpectAsync"/>.</summary>
    public Probe SpawnProbe()
    {
        var probe = new Probe(this);
        Protect(probe.Pid);
        return probe;
    }

    /// <summary>Kills (untrappably) the child <paramref name="id"/> of <paramref name="supervisor"/>, on cue.</summary>
    /// <param name="supervisor">The supervisor.</param>
    /// <param name="id">The child's id in its spec.</param>
    /// <returns>The killed child's pid.</returns>
    /// <exception cref="InvalidOperationException">The supervisor has no running child with that id.</exception>
    public async Task<Pid> CrashChildAsync(Pid supervisor, string id)
    {
        var children = await Supervisor.WhichChildrenAsync(supervisor);
        var child = children.FirstOrDefault(c => c.Id == id && !c.Pid.IsNone);
        if (child is null)
        {
            throw new InvalidOperationException($"Supervisor {supervisor} has no running child '{id}'; its children are: {string.Join(", ", children.Select(c => c.Id))}.");
        }

        Trace($"crash {id} {TraceName(child.Pid)}");
        Node.Exit(child.Pid, ExitReason.Kill);
        return child.Pid;
    }

    /// <summary>A pid as a trace should write it: its serial only, as the node's number (the first part of
    /// <see cref="Pid.ToString"/>) differs between runs in one OS process.</summary>
    /// <param name="pid">The pid.</param>
    public static string TraceName(Pid pid) => pid.Process is { } process ? string.Create(CultureInfo.InvariantCulture, $"<{process.Serial}>") : "<none>";

    internal SimulationScheduler Scheduler => _scheduler;

    private SimulatedFileSystem Disk => _disk ??= CreateDisk();

    private SimulatedFileSystem CreateDisk()
    {
        Directory.CreateDirectory(_scratch);
        return new SimulatedFileSystem(_scratch, Trace);
    }

    private Node CreateNode()
    {
        var node = new Node { TimeProvider = _clock, Scheduler = _scheduler };
        node.Reported += (_, report) => Trace($"report {report.GetType().Name} {TraceName(report.Pid)}");

        return node;
    }

    /// <summary>Runs the scenario to its end, then disposes the node, all on the calling thread.</summary>
    internal SimulationResult Execute(Func<SimulatedNode, Task> scenario)
    {
        // No synchronization context on the simulation's thread: with none, a continuation (ConfigureAwait(false) or
        // not) runs inline on the thread that completes its task, which is this one, in an order the run decides. With
        // one (a test framework's, or a simulation's own), .NET sends ConfigureAwait(false) continuations to the thread
        // pool instead.
        var outer = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        _scheduler.Attach(Thread.CurrentThread);
        try
        {
            Task? body = null;
            _scheduler.Post(_ => body = scenario(this), null);
            Pump(() => body is { IsCompleted: true });
            if (_failure is null && body is { IsFaulted: true })
            {
                _failure = body.Exception!.InnerException;
            }

            if (_failure is null)
            {
                CheckInvariants();
            }

            ShutDown();
            if (_failure is null && _scheduler.Escaped is { } escaped)
            {
                _failure = new SimulationStuckException($"The run is not a function of its seed: {escaped}. Start work only through the node (processes, timers) or await it on the node's clock.");
            }

            return new SimulationResult(Seed, _faults.ToList(), Step, Elapsed, Convert.ToHexString(_hash.GetHashAndReset()), _lines, _failure);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(outer);
            _hash.Dispose();
            DeleteScratch();
        }
    }

    private void ShutDown()
    {
        Task? disposal = null;
        var failure = _failure;
        _failure = null;
        _scheduler.Post(_ => disposal = Node.DisposeAsync().AsTask(), null);
        Pump(() => disposal is { IsCompleted: true });
        _failure = failure ?? _failure ?? disposal?.Exception?.InnerException;
    }

    private void Pump(Func<bool> done)
    {
        while (_failure is null && !done())
        {
            if (_scheduler.TryTake(out var item))
            {
                RunStep(item);
            }
            else if (!AdvanceClock())
            {
                return;
            }
        }
    }

    private void RunStep(SimulationScheduler.WorkItem item)
    {
        Step++;
        InjectFaults();
        if (item.Item is Process process)
        {
            Trace(string.Create(CultureInfo.InvariantCulture, $"run <{process.Serial}>"));
        }

        try
        {
            item.Execute();
        }
        catch (Exception e)
        {
            _failure = e;
            return;
        }

        CheckInvariants();
        if (Step >= _options.MaxSteps)
        {
            _failure ??= new SimulationStuckException($"The run took more than {_options.MaxSteps} steps (SimulationOptions.MaxSteps) by {Elapsed.TotalSeconds:F3} s of virtual time: a loop that never waits? Raise the limit if the scenario is that long.");
        }
    }

    /// <summary>Jumps the clock to the next timer and queues what is due; false (and a failure) when none is set.</summary>
    private bool AdvanceClock()
    {
        if (!_clock.TryNextDue(out var due))
        {
            _failure = new SimulationStuckException($"Nothing is ready and no timer is set at {Elapsed.TotalSeconds:F3} s of virtual time (step {Step}), but the scenario has not finished: it awaits something that can never happen (a task completed outside the simulation?).");
            return false;
        }

        if (due > _options.TimeLimit.Ticks)
        {
            _failure = new SimulationStuckException($"The virtual clock would pass SimulationOptions.TimeLimit ({_options.TimeLimit}) and the scenario has not finished.");
            return false;
        }

        _due.Clear();
        _clock.TakeDue(due, _due);
        foreach (var timer in _due)
        {
            _scheduler.Post(static t => ((VirtualTimer)t!).Fire(), timer);
        }

        return true;
    }

    private void CheckInvariants()
    {
        foreach (var (name, holds) in _invariants)
        {
            bool held;
            try
            {
                held = holds();
            }
            catch (Exception e)
            {
                _failure ??= e;
                return;
            }

            if (!held)
            {
                _failure ??= new InvariantViolationException(name, Step, Elapsed);
                return;
            }
        }
    }

    private void InjectFaults()
    {
        if (_givenFaults is not null)
        {
            while (_nextGivenFault < _givenFaults.Count && _givenFaults[_nextGivenFault].Step <= Step)
            {
                Inject(_givenFaults[_nextGivenFault++]);
            }
        }
        else if (_faulting && _faults.Count < _options.MaxFaults && _options.FaultKinds.Count > 0 && _faultRandom.NextDouble() < _options.FaultRate)
        {
            var kind = _options.FaultKinds[_faultRandom.Next(_options.FaultKinds.Count)];
            Inject(new Fault(Step, kind, _faultRandom.Next(1 << 16)));
        }
    }

    private void Inject(Fault fault)
    {
        _faults.Add(fault);
        switch (fault.Kind)
        {
            case FaultKind.Kill:
                Kill(fault.Target);
                break;
            case FaultKind.Throw:
                _throwPending = true;
                break;
            case FaultKind.DiskFull:
                _disk?.FailNextWrite(SimulatedFileSystem.NoSpace);
                break;
            case FaultKind.IoError:
                _disk?.FailNextWrite(SimulatedFileSystem.IoError);
                break;
            case FaultKind.FsyncFailure:
                _disk?.FailNextFsync();
                break;
        }

        Trace($"fault {fault}");
    }

    private void Kill(int target)
    {
        var candidates = Node.Processes().Where(p => !_protected.Contains(p)).ToList();
        if (candidates.Count == 0)
        {
            return;
        }

        var victim = candidates[target % candidates.Count];
        Trace($"kill {TraceName(victim)}");
        Node.Exit(victim, ExitReason.Kill);
    }

    private void DeleteScratch()
    {
        try
        {
            if (Directory.Exists(_scratch))
            {
                Directory.Delete(_scratch, recursive: true);
            }
        }
        catch (IOException)
        {
            // A scratch directory left behind costs disk, not correctness; the next run uses a new one.
        }
    }
}
