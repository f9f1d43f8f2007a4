namespace Heirloom.Cli;

/// <summary>Reports how far through a large file a command is, on standard error, every tenth of the way.</summary>
internal sealed class Progress(string what, long total)
{
    private const long LargeFile = 8L << 20;
    private int _reportedTenths;

    public void Report(long done)
    {
        if (total < LargeFile)
        {
            return;
        }

        var tenths = (int)(done * 10 / total);
        if (tenths > _reportedTenths)
        {
            _reportedTenths = tenths;
            Console.Error.WriteLine($"{what}: {tenths * 10}% ({done:N0} of {total:N0} bytes)");
        }
    }
}
