using System.CommandLine;

namespace Heirloom.Cli;

/// <summary>The heirloom command line: info, verify and dump.</summary>
internal static class HeirloomCommand
{
    private const string PathHelp = "A table file or snapshot (HEIRLOOM magic), a journal segment (journal-<sequence>.log), or a durable table's directory.";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var inspector = new Inspector(output, error);

        var infoPath = new Argument<string>("path") { Description = PathHelp };
        var info = new Command("info", "Show a file's header (type, name, objects, codecs, journal sequence) as JSON, or a directory's files and what opening it would do.") { infoPath };
        info.SetAction(parse => inspector.Info(parse.GetValue(infoPath)!));

        var verifyPath = new Argument<string>("path") { Description = PathHelp };
        var verify = new Command("verify", "Check checksums, counts, record sequences and CRCs; exit 0 when whole, 1 when damaged.") { verifyPath };
        verify.SetAction(parse => inspector.Verify(parse.GetValue(verifyPath)!));

        var dumpPath = new Argument<string>("path") { Description = "A table file, snapshot or journal segment." };
        var keyCodec = new Option<string?>("--key-codec") { Description = "For a journal: the key codec (i64, i32, f64, bool, guid, datetime, utf8, bytes, json:<type>); default the snapshot's beside it, else base64." };
        var valueCodec = new Option<string?>("--value-codec") { Description = "For a journal: the value codec, as --key-codec." };
        var dump = new Command("dump", "Write every object (a file) or record (a journal) as JSON lines; progress on standard error for large files.") { dumpPath, keyCodec, valueCodec };
        dump.SetAction(parse => inspector.Dump(parse.GetValue(dumpPath)!, parse.GetValue(keyCodec), parse.GetValue(valueCodec)));

        var root = new RootCommand("heirloom: inspect, verify and dump Heirloom table files, snapshots and journals.") { info, verify, dump };
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
