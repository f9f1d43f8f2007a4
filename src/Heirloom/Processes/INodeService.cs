namespace Heirloom.Processes;

/// <summary>
/// A per-node service that a layer above the process kernel attaches to a node (the node's tables), so the kernel
/// never references those layers. Created on first use by <see cref="Node.GetService{TService}"/>.
/// </summary>
internal interface INodeService
{
    /// <summary>Runs once when the node is disposed, after every process has exited.</summary>
    void OnNodeStopped();
}
