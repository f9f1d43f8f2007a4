using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>What <c>ets:info/1</c> tells about a table. Readable by any process, whatever the access.</summary>
/// <param name="Name">The table's name, or null.</param>
/// <param name="Type">Its type.</param>
/// <param name="Access">Its access.</param>
/// <param name="Owner">Its owner; <see cref="Pid.None"/> when the node owns it.</param>
/// <param name="Heir">Its heir; <see cref="Pid.None"/> for none.</param>
/// <param name="Size">How many objects it holds.</param>
/// <param name="Memory">An estimate of the bytes it uses.</param>
/// <param name="Fixed">Whether it is fixed for safe traversal.</param>
public sealed record TableInfo(string? Name, TableType Type, TableAccess Access, Pid Owner, Pid Heir, long Size, long Memory, bool Fixed);
