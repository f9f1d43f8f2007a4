using Heirloom.ClusterDemo;

// Two roles in one program: "node" runs one cluster node (the orchestrator starts three of these); without arguments
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

return await ClusterDemo.RunAsync(args, stopping.Token);
