using Heirloom.ClusterDemo;

// Three roles in one program: "node" runs one cluster node (the orchestrator starts three of these); "tables" runs a
// node serving many clustered tables (the tests start these); without arguments
// it is the demo, which starts a throwaway PostgreSQL and three nodes, kills the owner again and again, and shows it.
// Not disposed: the process-exit handler may still cancel it while the program ends.
var stopping = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stopping.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stopping.Cancel();

if (args is ["node", var connection, var schema, var nodeId, ..])
{
    var writers = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 16;
    return await ClusterNode.RunAsync(connection, schema, nodeId, writers, stopping.Token);
}

if (args is ["tables", var tablesConnection, var tablesSchema, var tablesNodeId, var count, ..])
{
    return await TablesNode.RunAsync(tablesConnection, tablesSchema, tablesNodeId, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture), stopping.Token);
}

return await ClusterDemo.RunAsync(args, stopping.Token);
