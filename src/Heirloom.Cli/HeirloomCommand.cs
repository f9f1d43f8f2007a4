using System.CommandLine;

namespace Heirloom.Cli;

/// <summary>The heirloom command line: info, verify and dump.</summary>
internal static class HeirloomCommand
{
    private const string ExitCodes = "Exit codes: 0 whole; 1 damaged (or the directory's table cannot be opened); 2 bad usage (no such path, an unknown codec); 3 no table data (a file that is neither a table file nor a journal segment, or a directory holding neither).";
    private const string ExitCodesBrief = "Exit codes: 0 whole; 1 damaged; 2 bad usage; 3 no table data (see heirloom --help).";
    private const string PathHelp = "A table file or snapshot (HEIRLOOM magic), a journal segment (journal-<sequence>.log), or a durable table's directory.";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var inspector = new Inspector(output, error);

        var infoPath = new Argument<string>("path") { Description = PathHelp };
        var info = new Command("info", "Show a file's header (type, name, objects, codecs and their versions, journal sequence) as JSON, or a directory's files with their codecs and what opening it would do. " + ExitCodesBrief) { infoPath };
        info.SetAction(parse => inspector.Info(parse.GetValue(infoPath)!));

        var verifyPath = new Argument<string>("path") { Description = PathHelp };
        var verify = new Command("verify", "Check checksums, counts, record sequences and CRCs. " + ExitCodesBrief) { verifyPath };
        verify.SetAction(parse => inspector.Verify(parse.GetValue(verifyPath)!));

        var dumpPath = new Argument<string>("path") { Description = "A table file, snapshot or journal segment, or a durable table's directory (dumped as opening it would recover it)." };
        var keyCodec = new Option<string?>("--key-codec") { Description = "For a journal: the key codec (i64, i32, f64, bool, guid, datetime, utf8, bytes, json:<type>); default the one the segment records." };
        var valueCodec = new Option<string?>("--value-codec") { Description = "For a journal: the value codec, as --key-codec." };
        var dump = new Command("dump", "Write every object (a file, or a directory's table as recovered) or record (a journal) as JSON lines; progress on standard error for large files. " + ExitCodesBrief) { dumpPath, keyCodec, valueCodec };
        dump.SetAction(parse => inspector.Dump(parse.GetValue(dumpPath)!, parse.GetValue(keyCodec), parse.GetValue(valueCodec)));

        var root = new RootCommand("heirloom: inspect, verify and dump Heirloom table files, snapshots and journals. " + ExitCodes) { info, verify, dump };
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
