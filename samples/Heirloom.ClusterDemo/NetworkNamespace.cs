using System.Diagnostics;

namespace Heirloom.ClusterDemo;

/// <summary>
/// A network namespace joined to this machine by a veth pair on a /30 of 10.231.0.0/16: a process started in it is a
/// "machine" whose network can go silent (its address removed) while it keeps running. Needs root (CAP_NET_ADMIN) and
/// iproute2; traffic never leaves this machine.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private readonly string _outside;
    private readonly string _inside;

    private NetworkNamespace(string name, int subnet)
    {
        Name = name;
        _outside = $"hlo{subnet}";
        _inside = $"hli{subnet}";
        HostAddress = $"10.231.{subnet}.1";
        Address = $"10.231.{subnet}.2";
    }

    public string Name { get; }

    /// <summary>This machine's address as the namespace sees it (where PostgreSQL listens for it).</summary>
    public string HostAddress { get; }

    /// <summary>The namespace's own address.</summary>
    public string Address { get; }

    /// <summary>The command prefix that runs a program inside.</summary>
    public IReadOnlyList<string> Wrapper => ["ip", "netns", "exec", Name];

    /// <summary>Creates one on the /30 at 10.231.<paramref name="subnet"/>.0 (random when not given).</summary>
    public static NetworkNamespace Create(int? subnet = null)
    {
        var chosen = subnet ?? Random.Shared.Next(1, 250);
        return Create(chosen, $"heirloom{chosen}");
    }

    private static NetworkNamespace Create(int subnet, string name)
    {
        var space = new NetworkNamespace(name, subnet);
        try
        {
            Ip("netns", "add", space.Name);
            Ip("link", "add", space._outside, "type", "veth", "peer", "name", space._inside);
            Ip("link", "set", space._inside, "netns", space.Name);
            Ip("addr", "add", $"{space.HostAddress}/30", "dev", space._outside);
            Ip("link", "set", space._outside, "up");
            Ip("netns", "exec", space.Name, "ip", "link", "set", "lo", "up");
            Ip("netns", "exec", space.Name, "ip", "link", "set", space._inside, "up");
            space.RestoreAddress();
            return space;
        }
        catch
        {
            space.Dispose();
            throw;
        }
    }

    /// <summary>The machine goes silent: no address, so nothing it sent is answered and nothing sent to it arrives.</summary>
    public void RemoveAddress() => Ip("netns", "exec", Name, "ip", "addr", "del", $"{Address}/30", "dev", _inside);

    public void RestoreAddress() => Ip("netns", "exec", Name, "ip", "addr", "add", $"{Address}/30", "dev", _inside);

    public void Dispose()
    {
        Run(["netns", "del", Name], check: false);
        Run(["link", "del", _outside], check: false);
    }

    private static void Ip(params string[] arguments) => Run(arguments, check: true);

    private static void Run(string[] arguments, bool check)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var ip = Process.Start(start)!;
        var error = ip.StandardError.ReadToEnd();
        ip.WaitForExit();
        if (check && ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed ({ip.ExitCode}): {error}. The silent-machine test needs root and iproute2.");
        }
    }
}
