using System.Runtime.CompilerServices;
using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>
/// What every table has whatever its key and value types: a type, an access, an owner, an heir, an optional name.
/// Ownership follows ETS: the creating process owns the table; when the owner exits, the heir (if alive) becomes the
/// owner and receives a <see cref="TableTransfer"/> before anyone sees the owner's EXIT or DOWN; otherwise the table
/// is deleted and its name freed. Create tables with <c>Table.New</c>.
/// </summary>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public abstract class Table : IProcessOwned
{
    // Ownership fields are guarded by _lock. _owner is null when the node owns the table; then code outside any
    // process counts as the owner.
    private readonly Lock _lock = new();
    private readonly TableRegistry _registry;
    private Process? _owner;
    private Process? _heir;
    private object? _heirData;
    private string? _name;
    private volatile bool _deleted;

    // Set once, when the durable storage failed: from then on every read and write throws it, even before the table
    // is closed and its files released.
    private volatile TableException? _failure;

    // Zero when any process may read without more checks: not private and not deleted. One load on the read path.
    private volatile int _readGate;

    // Set for managed tables: when the owner exits and no heir can take the table, the node keeps it (owner none)
    // instead of deleting it, until a manager adopts it again. ETS has no such heir; OTP refused `{heir, immortal}`.
    private bool _keptByNode;

    private protected Table(Node node, TableOptions options, Process? owner)
    {
        Node = node;
        _registry = TableRegistry.Of(node);
        Type = options.Type;
        Access = options.Access;
        _owner = owner;
        _readGate = options.Access == TableAccess.Private ? 1 : 0;
    }

    /// <summary>The node the table lives on.</summary>
    public Node Node { get; }

    /// <summary>The table's type.</summary>
    public TableType Type { get; }

    /// <summary>Who may read and write it.</summary>
    public TableAccess Access { get; }

    /// <summary>The table's name, or null.</summary>
    public string? Name => _name;

    /// <summary>Whether the table has been deleted (explicitly, or with its owner).</summary>
    public bool IsDeleted => _deleted;

    /// <summary>Why the table was closed when its durable storage failed (see <see cref="TableError.StorageFailed"/>);
    /// null while it works, and for a table deleted in any other way.</summary>
    public TableException? Failure => _failure;

    /// <summary>The owner; <see cref="Pid.None"/> when the node owns it.</summary>
    public Pid Owner => Volatile.Read(ref _owner)?.Self ?? default;

    /// <summary>The heir; <see cref="Pid.None"/> for none.</summary>
    public Pid Heir => Volatile.Read(ref _heir)?.Self ?? default;

    internal abstract Type KeyType { get; }

    internal abstract Type ValueType { get; }

    /// <summary>The storage, for layers that look at every table whatever its types (durable tables' status).</summary>
    internal abstract object UntypedStore { get; }

    /// <summary>Creates a table owned by the calling process.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="options">Type, access, name, heir.</param>
    /// <param name="keyComparer">Key equality for hash tables; default <see cref="EqualityComparer{T}.Default"/>.</param>
    /// <param name="keyOrder">Key order for ordered sets; default <see cref="Comparer{T}.Default"/>.</param>
    /// <exception cref="InvalidOperationException">Called outside any process; use the overload taking a node.</exception>
    /// <exception cref="TableException">The name is taken (AlreadyExists).</exception>
    public static Table<TKey, TValue> New<TKey, TValue>(TableOptions options, IEqualityComparer<TKey>? keyComparer = null, IComparer<TKey>? keyOrder = null)
        where TKey : notnull
    {
        var current = Process.CurrentProcess ?? throw new InvalidOperationException("Table.New(options) creates a table owned by the calling process and was called outside any process; call Table.New(node, options) for a table the node owns.");
        return New<TKey, TValue>(current.Node, options, keyComparer, keyOrder);
    }

    /// <summary>Creates a table on a node, owned by the calling process when it runs on that node, else by the node.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="node">The node.</param>
    /// <param name="options">Type, access, name, heir.</param>
    /// <param name="keyComparer">Key equality for hash tables; default <see cref="EqualityComparer{T}.Default"/>.</param>
    /// <param name="keyOrder">Key order for ordered sets; default <see cref="Comparer{T}.Default"/>.</param>
    /// <exception cref="TableException">The name is taken (AlreadyExists).</exception>
    public static Table<TKey, TValue> New<TKey, TValue>(Node node, TableOptions options, IEqualityComparer<TKey>? keyComparer = null, IComparer<TKey>? keyOrder = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        return Create<TKey, TValue>(node, options, keyComparer, keyOrder, wrap: null);
    }

    /// <summary>Creates and registers a table, its storage optionally wrapped (by a durable table's journal) and
    /// optionally an engine already filled (a replica's standby).</summary>
    internal static Table<TKey, TValue> Create<TKey, TValue>(Node node, TableOptions options, IEqualityComparer<TKey>? keyComparer, IComparer<TKey>? keyOrder, Func<Storage.TableStore<TKey, TValue>, Storage.TableStore<TKey, TValue>>? wrap, Storage.TableStore<TKey, TValue>? engine = null)
        where TKey : notnull
    {
        var current = Process.CurrentProcess;
        var owner = current is not null && current.Node == node ? current : null;
        var table = new Table<TKey, TValue>(node, options, owner, keyComparer, keyOrder, wrap, engine);
        table.Register(options);
        return table;
    }

    /// <summary>
    /// Gives the table to another process (<c>ets:give_away/3</c>), which receives a <see cref="TableTransfer"/> with
    /// the gift. Only the owner may, whatever the access; the receiver must be alive, on this node, and not the
    /// caller. The heir is unchanged. The liveness check and the transfer are one atomic step.
    /// </summary>
    /// <param name="to">The new owner.</param>
    /// <param name="gift">Carried by the <see cref="TableTransfer"/>.</param>
    /// <exception cref="TableException">NoSuchTable, NotOwner, or Owner (receiver dead, the caller, or on another node).</exception>
    public void GiveAway(Pid to, object? gift)
    {
        var receiver = to.Resolve();
        Process? previous;
        lock (_lock)
        {
            ThrowIfDeleted();
            ThrowIfNotOwner("give it away");
            previous = _owner;
            if (receiver == previous || receiver.Node != Node)
            {
                throw new TableException(TableError.Owner, receiver == previous
                    ? $"Cannot give the table to {to}: it already owns it."
                    : $"Cannot give the table to {to}: it lives on another node.");
            }

            if (!receiver.TryAddOwned(this))
            {
                throw new TableException(TableError.Owner, $"Cannot give the table to {to}: the process is not alive.");
            }

            previous?.RemoveOwned(this);
            Volatile.Write(ref _owner, receiver);
        }

        receiver.Deliver(new TableTransfer(this, previous?.Self ?? default, gift));
        TableMetrics.Of(Node).OnTransfer();
    }

    /// <summary>Sets or clears the heir (<c>ets:setopts(Tab, {heir, Pid, Data})</c>). Only the owner may. A dead
    /// process is recorded as no heir, as ETS does.</summary>
    /// <param name="heir">The heir, or <see cref="Pid.None"/> for none.</param>
    /// <param name="data">Sent to the heir in its <see cref="TableTransfer"/>.</param>
    /// <exception cref="TableException">NoSuchTable or NotOwner.</exception>
    public void SetHeir(Pid heir, object? data)
    {
        lock (_lock)
        {
            ThrowIfDeleted();
            ThrowIfNotOwner("set its heir");
            SetHeirCore(heir, data);
        }
    }

    /// <summary>Renames the table (<c>ets:rename/2</c>); needs write access. The table object stays valid.</summary>
    /// <param name="name">The new name.</param>
    /// <exception cref="TableException">NoSuchTable, Access, or AlreadyExists.</exception>
    public void Rename(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_lock)
        {
            CheckWrite();
            if (name == _name)
            {
                return;
            }

            if (!_registry.TryAddName(name, this))
            {
                throw new TableException(TableError.AlreadyExists, $"Cannot rename the table to '{name}': another table has that name.");
            }

            if (_name is not null)
            {
                _registry.RemoveName(_name, this);
            }

            _name = name;
        }
    }

    /// <summary>Deletes the table (<c>ets:delete/1</c>); needs write access. Its name is freed at once.</summary>
    /// <exception cref="TableException">NoSuchTable or Access.</exception>
    public void Delete()
    {
        lock (_lock)
        {
            CheckWrite();
            DeleteCore();
        }
    }

    /// <summary>The table's description (<c>ets:info/1</c>); works from any process on any table, even private.</summary>
    /// <returns>The info, or null once the table is deleted (ETS returns undefined).</returns>
    public abstract TableInfo? GetInfo();

    /// <summary>Prints the table as its name or type and owner.</summary>
    public override string ToString() => $"#Table<{_name ?? Type.ToString()} owned by {Owner}>";

    /// <summary>Called by the dying owner's exit, before its links and monitors fire: the heir takes the table, or it is deleted.</summary>
    void IProcessOwned.OnOwnerExit(Process owner)
    {
        Process? heir;
        object? data;
        lock (_lock)
        {
            if (_owner != owner || _deleted)
            {
                return;
            }

            heir = _heir;
            data = _heirData;
            if (heir is null || heir == owner || !heir.TryAddOwned(this))
            {
                if (_keptByNode)
                {
                    Volatile.Write(ref _owner, null);
                    _heir = null;
                    return;
                }

                DeleteCore();
                return;
            }

            // The heir stays the heir after inheriting, as in ETS: to keep the chain going it sets a new one.
            Volatile.Write(ref _owner, heir);
        }

        heir.Deliver(new TableTransfer(this, owner.Self, data));
        TableMetrics.Of(Node).OnTransfer();
    }

    /// <summary>
    /// For a table manager: makes <paramref name="manager"/> the heir (and the owner too, when the node keeps the table
    /// or its owner is gone), whatever the caller, and has the node keep the table from now on when no heir can take it.
    /// Returns the owner after adoption, or null when the table was deleted.
    /// </summary>
    internal Process? Adopt(Process manager, object? heirData)
    {
        lock (_lock)
        {
            if (_deleted)
            {
                return null;
            }

            _keptByNode = true;
            if (_owner is null || !_owner.IsAlive)
            {
                if (!manager.TryAddOwned(this))
                {
                    return null;
                }

                _owner?.RemoveOwned(this);
                Volatile.Write(ref _owner, manager);
            }

            Volatile.Write(ref _heir, manager);
            _heirData = heirData;
            return _owner;
        }
    }

    /// <summary>For a table manager: deletes the table whoever owns it.</summary>
    internal void ForceDelete()
    {
        lock (_lock)
        {
            if (!_deleted)
            {
                DeleteCore();
            }
        }
    }

    /// <summary>
    /// First step of failing a table whose durable storage failed: from this moment every read and write throws
    /// <paramref name="failure"/>'s error. Lock-free, so a writer can call it under its storage's lock, before any
    /// other thread could see the write that failed. <see cref="CloseFailed"/> must follow, outside that lock.
    /// </summary>
    internal void MarkFailed(TableException failure)
    {
        Interlocked.CompareExchange(ref _failure, failure, null);
        CloseReadGate();
    }

    /// <summary>
    /// Second step: deletes the failed table from the node (its name is freed, its storage closed and its directory
    /// released, so it can be opened again), then tells its heir with a <see cref="TableFailed"/>. Any number of
    /// threads may call it; every caller returns with it closed, and the one that closed it is told so.
    /// </summary>
    internal bool CloseFailed()
    {
        Process? heir;
        lock (_lock)
        {
            if (_deleted)
            {
                return false;
            }

            heir = _heir;
            DeleteCore();
        }

        heir?.Deliver(new TableFailed(this, _failure!));
        return true;
    }

    /// <summary>Whether the calling code is the owner: the owning process, or code outside processes for a node-owned table.</summary>
    internal bool CallerIsOwner()
    {
        // A killed process's code runs on until its next receive; it owns nothing from the moment it was killed.
        var current = Process.CurrentProcess;
        return current == Volatile.Read(ref _owner) && (current is null || current.IsAlive);
    }

    /// <summary>From now on every read takes <see cref="CheckRead"/>'s full test (the table failed or was deleted),
    /// the typed table's unchecked reads included.</summary>
    private void CloseReadGate()
    {
        CloseUncheckedReads();
        _readGate = 2;
    }

    /// <summary>Stops the reads a typed table lets through without <see cref="CheckRead"/>; they must see the gate
    /// closed from the moment this returns.</summary>
    private protected abstract void CloseUncheckedReads();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckRead()
    {
        if (_readGate != 0 && (_deleted || _failure is not null || !CallerIsOwner()))
        {
            ThrowReadRefused();
        }
    }

    // The table whose caller-supplied function (of AddOrUpdate, TryUpdate, SelectDelete, SelectReplace) runs on this
    // thread under one of the table's write locks. A write to that table from the function would wait for a lock the
    // thread holds, or for a batch that waits for it, or change the place the outer write is about to change: refused.
    [ThreadStatic]
    private static Table? t_functionRunningFor;

    /// <summary>Marks the calling thread as running a caller's function for this table until the scope is disposed.</summary>
    internal CallerFunctionScope RunningCallerFunction()
    {
        var outer = t_functionRunningFor;
        t_functionRunningFor = this;
        return new CallerFunctionScope(outer);
    }

    internal void CheckWrite()
    {
        ThrowIfDeleted();
        if (t_functionRunningFor == this)
        {
            throw new TableException(TableError.BadArgument, $"A function given to AddOrUpdate, TryUpdate, SelectDelete or SelectReplace of {this} wrote to {this}; it runs under the table's write lock, where a write to the same table could deadlock or be lost. Compute the other writes in the function's result, or make them after the call returns.");
        }

        if (Access != TableAccess.Public && !CallerIsOwner())
        {
            throw AccessDenied("write");
        }
    }

    /// <summary>Ends <see cref="RunningCallerFunction"/>: restores the mark of an enclosing call (a function of one
    /// table may call another table's AddOrUpdate).</summary>
    internal readonly struct CallerFunctionScope(Table? outer) : IDisposable
    {
        public void Dispose() => t_functionRunningFor = outer;
    }

    internal void ThrowIfDeleted()
    {
        ThrowIfFailed();
        if (_deleted)
        {
            throw new TableException(TableError.NoSuchTable, $"{this} no longer exists: it was deleted, or its owner exited with no heir to take it.");
        }
    }

    /// <summary>Throws the table's storage failure, if it failed.</summary>
    internal void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            // A new exception each time: one instance thrown on many threads would share one stack trace.
            throw new TableException(TableError.StorageFailed, failure.Message, failure.InnerException!);
        }
    }

    private protected abstract void ReleaseStorage();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowReadRefused()
    {
        ThrowIfDeleted();
        throw AccessDenied("read");
    }

    private void Register(TableOptions options)
    {
        if (options.Name is { } name)
        {
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(options));
            if (!_registry.TryAddName(name, this))
            {
                throw new TableException(TableError.AlreadyExists, $"Cannot create table '{name}': a table with that name already exists.");
            }

            _name = name;
        }

        if (_owner is not null && !_owner.TryAddOwned(this))
        {
            if (_name is not null)
            {
                _registry.RemoveName(_name, this);
            }

            throw new NoProcessException(_owner.Self, "The creating process has exited; a table needs a live owner.");
        }

        _registry.Add(this);
        lock (_lock)
        {
            SetHeirCore(options.Heir, options.HeirData);
        }
    }

    private void SetHeirCore(Pid heir, object? data)
    {
        System.Diagnostics.Debug.Assert(_lock.IsHeldByCurrentThread, "The heir and its data change together under the ownership lock.");
        var process = heir.Process;
        if (process is not null && process.Node != Node)
        {
            throw new TableException(TableError.Owner, $"The heir {heir} lives on another node.");
        }

        // An heir already dead is no heir; one that dies later simply fails to inherit.
        var alive = process is { IsAlive: true };
        Volatile.Write(ref _heir, alive ? process : null);
        _heirData = alive ? data : null;
    }

    private void DeleteCore()
    {
        System.Diagnostics.Debug.Assert(_lock.IsHeldByCurrentThread, "A table is deleted under its ownership lock, so an owner's exit and a delete never interleave.");
        _deleted = true;
        CloseReadGate();
        if (_name is not null)
        {
            _registry.RemoveName(_name, this);
        }

        _registry.Remove(this);
        _owner?.RemoveOwned(this);
        ReleaseStorage();
    }

    private void ThrowIfNotOwner(string what)
    {
        if (!CallerIsOwner())
        {
            throw new TableException(TableError.NotOwner, $"Only the owner ({Owner}) may {what}; the caller is {Process.CurrentProcess?.Self.ToString() ?? "outside any process"}.");
        }
    }

    private TableException AccessDenied(string what) =>
        new(TableError.Access, $"{this} is {Access.ToString().ToLowerInvariant()}: only its owner may {what} it, not {Process.CurrentProcess?.Self.ToString() ?? "code outside any process"}.");
}
