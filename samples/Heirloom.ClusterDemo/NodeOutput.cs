namespace Heirloom.ClusterDemo;

/// <summary>What a node process tells the process that started it, one line per event on standard output:
/// <c>READY</c>, <c>OWNER &lt;rows&gt;</c> when its worker got the table, <c>ACK &lt;key&gt;</c> per committed write,
/// <c>FENCED &lt;reason&gt;</c> when it lost the table.</summary>
internal sealed class NodeOutput
{
    private readonly Lock _lock = new();
    private readonly TextWriter _out = Console.Out;

    public void Ready(string nodeId) => Line($"READY {nodeId}");

    public void Owner(long rows)
    {
        Line($"OWNER {rows}");
        Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} the worker has the table ({rows} rows)");
    }

    public void Acknowledged(long key) => Line($"ACK {key}");

    public void Fenced(string reason)
    {
        Line($"FENCED {reason.ReplaceLineEndings(" ")}");
        Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} the node was fenced; its worker waits for the table again");
    }

    private void Line(string line)
    {
        lock (_lock)
        {
            _out.WriteLine(line);
            _out.Flush();
        }
    }
}
