namespace Heirloom.Demo;

/// <summary>What the live view shows, updated by the worker and the chaos loop.</summary>
internal sealed class DemoStats
{
    private long _acknowledged;
    private long _handOffs;
    private long _workerCrashes;
    private long _managerCrashes;

    public long Acknowledged => Volatile.Read(ref _acknowledged);

    public long HandOffs => Volatile.Read(ref _handOffs);

    public long WorkerCrashes => Volatile.Read(ref _workerCrashes);

    public long ManagerCrashes => Volatile.Read(ref _managerCrashes);

    public void Acknowledge(long key) => Volatile.Write(ref _acknowledged, key);

    public void HandOff() => Interlocked.Increment(ref _handOffs);

    public void WorkerCrashed() => Interlocked.Increment(ref _workerCrashes);

    public void ManagerCrashed() => Interlocked.Increment(ref _managerCrashes);
}
