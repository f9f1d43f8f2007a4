using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Management;

/// <summary>The manager's server: one entry per managed table, each either held (discovering) or handed off.</summary>
internal sealed class TableManagerServer(TableManagerOptions options) : GenServer
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private protected override Type Behaviour => typeof(TableManager);

    protected internal override ValueTask<InitResult> InitAsync()
    {
        Context.TrapExit = true;
        TableManagerRegistry.Of(Context.Node).Add(Self);
        foreach (var spec in options.Tables)
        {
            if (_entries.ContainsKey(spec.Name))
            {
                return ValueTask.FromResult(InitResult.Stop(ExitReason.Error(new ArgumentException($"Two managed tables are named '{spec.Name}'.", nameof(options)))));
            }

            Manage(spec);
        }

        return ValueTask.FromResult(InitResult.Ok);
    }

    protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
    {
        switch (request)
        {
            case Status:
                return ValueTask.FromResult(CallResult.Reply(_entries.Values.Select(StatusOf).ToArray()));
            case Add add:
                if (_entries.ContainsKey(add.Table.Name))
                {
                    return ValueTask.FromResult(CallResult.Reply(new ArgumentException($"The manager already manages a table named '{add.Table.Name}'.")));
                }

                Manage(add.Table);
                return ValueTask.FromResult(CallResult.Reply(null));
            case Delete delete:
                if (!_entries.Remove(delete.Name, out var entry))
                {
                    return ValueTask.FromResult(CallResult.Reply(false));
                }

                entry.Table?.ForceDelete();
                return ValueTask.FromResult(CallResult.Reply(true));
            default:
                return base.HandleCallAsync(request, from);
        }
    }

    protected internal override ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        switch (message)
        {
            case TableTransfer transfer when transfer.Table.Name is { } name && _entries.TryGetValue(name, out var entry) && entry.Table == transfer.Table:
                // Back from a dead worker, or from anyone who gave it to us: in either order with the Down, the
                // table is with us now, so look for the next owner (unless a Down already made us start).
                if (transfer.Table.Owner == Self && entry.State != ManagedTableState.Discovering)
                {
                    StartDiscovery(entry);
                }

                break;
            case TableFailed failed when failed.Table.Name is { } name && _entries.TryGetValue(name, out var entry) && entry.Table == failed.Table:
                OnTableFailed(entry, failed.Failure);
                break;
            case Down down:
                foreach (var watched in _entries.Values.Where(e => e.WorkerMonitor == down.Ref))
                {
                    OnWorkerDown(watched);
                }

                break;
            case NameRegistered registered:
                foreach (var waiting in _entries.Values.Where(e => e.Spec.FindMeName == registered.Name && e.State == ManagedTableState.Discovering))
                {
                    TryHandOff(waiting);
                }

                break;
            case Retry retry when _entries.TryGetValue(retry.Name, out var retrying) && retrying.Attempt == retry.Attempt:
                if (retrying.State == ManagedTableState.Failed)
                {
                    TryReopen(retrying);
                }
                else
                {
                    TryHandOff(retrying);
                }

                break;
        }

        return ValueTask.FromResult(ServerResult.Ok);
    }

    private void Manage(ManagedTable spec)
    {
        var node = Context.Node;
        var table = node.Tables.WhereIs(spec.Name);
        try
        {
            table ??= spec.Create(node, spec.Options with { Name = spec.Name, Heir = Self, HeirData = spec.Gift });
        }
        catch (TableFileException e) when (e.Error is TableFileError.WrongCodec or TableFileError.WrongType or TableFileError.NewerCodecVersion or TableFileError.MissingUpgradeStep)
        {
            // The directory holds a table of other types, codecs or codec versions than configured: no worker may get
            // it, and the manager's other tables go on. It stays failed, with the reason, and is tried again with
            // backoff (the files may be restored meanwhile).
            var refused = new Entry(spec, null) { State = ManagedTableState.Failed, Failure = e, WaitingSince = Context.Node.TimeProvider.GetTimestamp(), Delay = options.InitialBackoff };
            _entries[spec.Name] = refused;
            node.Report(new HandOffRefusedReport(Self, spec.Name, Pid.None, e));
            ScheduleRetry(refused);
            return;
        }

        var entry = new Entry(spec, table);
        _entries[spec.Name] = entry;

        // Adopting makes this manager the heir (and the owner, if the table was left with the node); a table made
        // just now is already ours.
        var owner = table.Adopt(Context.Process, spec.Gift);
        if (owner is not null && owner != Context.Process)
        {
            Watch(entry, owner.Self);
        }
        else
        {
            StartDiscovery(entry);
        }
    }

    private void OnWorkerDown(Entry entry)
    {
        entry.WorkerMonitor = default;
        if (entry.Table is not { } table)
        {
            return;
        }

        if (table.Failure is { } failure)
        {
            // The worker died of the failure before its table's TableFailed was handled.
            OnTableFailed(entry, failure);
            return;
        }

        if (table.IsDeleted)
        {
            // Deleted outside the manager (by its owner): nothing to keep.
            _entries.Remove(entry.Spec.Name);
            return;
        }

        // The transfer normally came first; if not, the table is with the node now, or will be ours shortly.
        if (table.Adopt(Context.Process, entry.Spec.Gift) == Context.Process && entry.State == ManagedTableState.HandedOff)
        {
            StartDiscovery(entry);
        }
    }

    /// <summary>The table's storage failed and the table is closed: stop watching its worker (it owns nothing now)
    /// and open the table again from its directory.</summary>
    private void OnTableFailed(Entry entry, Exception failure)
    {
        if (entry.State == ManagedTableState.Failed)
        {
            return;
        }

        if (entry.WorkerMonitor != default)
        {
            Context.Demonitor(entry.WorkerMonitor, flush: true);
            entry.WorkerMonitor = default;
        }

        entry.State = ManagedTableState.Failed;
        entry.Failure = failure;
        entry.WaitingSince = Context.Node.TimeProvider.GetTimestamp();
        entry.Delay = options.InitialBackoff;
        TryReopen(entry);
    }

    /// <summary>Opens a failed table again (for a durable table: recovers it from its directory); on success hands it
    /// on, otherwise tries again with backoff, the fault (a full disk, say) perhaps not cleared yet.</summary>
    private void TryReopen(Entry entry)
    {
        try
        {
            entry.Table = entry.Spec.Create(Context.Node, entry.Spec.Options with { Name = entry.Spec.Name, Heir = Self, HeirData = entry.Spec.Gift });
        }
        catch (Exception e) when (e is IOException or TableException or UnauthorizedAccessException)
        {
            entry.Failure = e;
            ScheduleRetry(entry);
            return;
        }

        entry.Failure = null;
        entry.Reopens++;
        StartDiscovery(entry);
    }

    private void StartDiscovery(Entry entry)
    {
        entry.State = ManagedTableState.Discovering;
        entry.WaitingSince = Context.Node.TimeProvider.GetTimestamp();
        entry.Delay = options.InitialBackoff;
        TryHandOff(entry);
    }

    /// <summary>Finds the receiver and gives it the table, the liveness check and the transfer being one step
    /// (<see cref="Table.GiveAway"/>); anything short of success schedules another attempt.</summary>
    private void TryHandOff(Entry entry)
    {
        if (entry.State != ManagedTableState.Discovering || entry.Table is not { } table || table.Owner != Self)
        {
            return;
        }

        if (entry.Spec.FindMeName is { } name)
        {
            // Watch before looking, so that a registration between the two is not missed.
            Context.WatchName(name);
        }

        var target = Find(entry.Spec);
        if (target is { IsNone: false, IsAlive: true } pid && Mismatch(entry.Spec.Name, table, pid) is { } mismatch)
        {
            // A worker of other types would never take the table: it is told why and exits; its replacement is tried.
            // A worker already told is not told (nor reported) again while the retries wait for it to exit.
            if (entry.Failure is not TableTypeMismatchException { Worker: var refused } || refused != pid)
            {
                entry.Failure = mismatch;
                pid.Send(new HandOffRefused(mismatch));
                Context.Node.Report(new HandOffRefusedReport(Self, entry.Spec.Name, pid, mismatch));
            }
        }
        else if (target is { IsNone: false, IsAlive: true } worker)
        {
            try
            {
                table.GiveAway(worker, entry.Spec.Gift);
                entry.HandOffs++;
                Watch(entry, worker);
                return;
            }
            catch (TableException)
            {
                // The receiver died between the lookup and the transfer: a failed hand-off; try again. Finding no
                // receiver yet is ordinary waiting, shown by WaitingFor, not a failure.
                entry.FailedHandOffs++;
            }
        }

        ScheduleRetry(entry);
    }

    /// <summary>Why a worker cannot take the table: it is a <see cref="TableWorker{TKey, TValue}"/> of other key or
    /// value types than the table's; null when it can (or is no table worker, whose types are unknown).</summary>
    private static TableTypeMismatchException? Mismatch(string name, Table table, Pid worker)
    {
        for (var type = worker.Resolve().Behaviour; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(TableWorker<,>))
            {
                var (key, value) = (type.GenericTypeArguments[0], type.GenericTypeArguments[1]);
                return key == table.KeyType && value == table.ValueType
                    ? null
                    : new TableTypeMismatchException(name, table.KeyType, table.ValueType, worker, key, value);
            }
        }

        return null;
    }

    private Pid Find(ManagedTable spec)
    {
        try
        {
            if (spec.FindMe is { } findMe)
            {
                return findMe(Context.Node);
            }

            return spec.FindMeName is { } name ? Context.Node.WhereIs(name) : Pid.None;
        }
        catch (Exception)
        {
            // A throwing find-me is "not found yet", not a reason to crash and lose the table.
            return Pid.None;
        }
    }

    private void Watch(Entry entry, Pid worker)
    {
        entry.State = ManagedTableState.HandedOff;
        entry.Failure = null;
        entry.WaitingSince = null;
        entry.WorkerMonitor = Context.Monitor(worker);
    }

    private void ScheduleRetry(Entry entry)
    {
        var attempt = ++entry.Attempt;
        var delay = entry.Delay * (0.5 + (Context.Node.Scheduler.NextDouble() / 2));
        entry.Delay = TimeSpan.FromTicks(Math.Min(entry.Delay.Ticks * 2, options.MaxBackoff.Ticks));

        // A kernel timer, on the node's clock, and cancelled should the manager exit before it fires.
        Context.SendAfter(Self, new Retry(entry.Spec.Name, attempt), delay);
    }

    private ManagedTableStatus StatusOf(Entry entry) => new(
        entry.Spec.Name,
        entry.State,
        entry.Table?.Owner ?? Pid.None,
        entry.Table?.Heir ?? Pid.None,
        entry.WaitingSince is { } since ? Context.Node.TimeProvider.GetElapsedTime(since) : null,
        entry.HandOffs,
        entry.FailedHandOffs,
        entry.Failure,
        entry.Reopens);

    /// <summary>A managed table; its <see cref="Table"/> is null only while it could not be opened at all.</summary>
    private sealed class Entry(ManagedTable spec, Table? table)
    {
        public ManagedTable Spec { get; } = spec;

        public Table? Table { get; set; } = table;

        public Exception? Failure { get; set; }

        public long Reopens { get; set; }

        public ManagedTableState State { get; set; }

        public MonitorRef WorkerMonitor { get; set; }

        public long? WaitingSince { get; set; }

        public TimeSpan Delay { get; set; }

        public int Attempt { get; set; }

        public long HandOffs { get; set; }

        public long FailedHandOffs { get; set; }
    }

    internal sealed record Status
    {
        public static readonly Status Instance = new();
    }

    internal sealed record Add(ManagedTable Table);

    internal sealed record Delete(string Name);

    private sealed record Retry(string Name, int Attempt);
}
