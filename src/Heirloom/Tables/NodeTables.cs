using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>The tables of a <see cref="Node"/>: the table layer attaches them to the node, which knows nothing of tables.</summary>
public static class NodeTables
{
    extension(Node node)
    {
        /// <summary>The node's tables, and its named tables by name.</summary>
        public TableRegistry Tables
        {
            get
            {
                ArgumentNullException.ThrowIfNull(node);
                return TableRegistry.Of(node);
            }
        }
    }
}
