namespace Heirloom.Dashboard;

/// <summary>How the dashboard behaves; read-only and modest by default.</summary>
public sealed class DashboardOptions
{
    /// <summary>Whether the page may kill a process (as observer can). Default false: the dashboard only looks.
    /// Turn it on only behind authorization.</summary>
    public bool AllowKill { get; set; }

    /// <summary>How often a watching page gets a new view; default 500 ms. A crash or restart brings the next view
    /// forward (at most ten a second). Nothing is gathered while no page watches, beyond a once-a-second count of
    /// restarts, crashes and fsyncs for the charts.</summary>
    public TimeSpan UpdateInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The most process rows one answer holds (the page filters and sorts on the server); default 200.</summary>
    public int MaxProcessRows { get; set; } = 200;
}
