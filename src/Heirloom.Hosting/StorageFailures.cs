using System.Collections.Concurrent;
using Heirloom.Persistence;
using Heirloom.Processes;

namespace Heirloom.Hosting;

/// <summary>The durable tables closed by a storage failure, by directory, until a table is open there again: a closed
/// table leaves the node's tables, so only its report tells the health check about it.</summary>
internal sealed class StorageFailures
{
    private readonly ConcurrentDictionary<string, StorageFailureReport> _closed = new(StringComparer.Ordinal);

    public void Attach(Node node) => node.Reported += OnReported;

    public void Detach(Node node) => node.Reported -= OnReported;

    /// <summary>The failures whose directory has no open table now.</summary>
    public IReadOnlyList<StorageFailureReport> Unrecovered(IReadOnlySet<string> openDirectories)
    {
        foreach (var directory in _closed.Keys.Where(openDirectories.Contains))
        {
            _closed.TryRemove(directory, out _);
        }

        return [.. _closed.Values];
    }

    private void OnReported(object? sender, NodeReport report)
    {
        if (report is StorageFailureReport { TableClosed: true } failure)
        {
            _closed[failure.Directory] = failure;
        }
    }
}
