using System.Text.RegularExpressions;
using Heirloom.Cli;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Testing;

namespace Heirloom.Tests.Persistence;

/// <summary>The heirloom tool's README: each <c>$ heirloom ...</c> line of its console blocks, run on the table the
/// README describes, prints what the README shows.</summary>
public sealed partial class CliReadmeTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("cli-readme");

    public void Dispose() => _temporary.Dispose();

    [Fact]
    public async Task Every_command_the_readme_shows_prints_what_it_shows()
    {
        await WriteCartsAndBroken();
        var commands = ConsoleCommands(File.ReadAllText(Path.Combine(ReadmeSnippets.RepositoryRoot(), "src/Heirloom.Cli/README.md")));
        Assert.Equal(4, commands.Count);

        foreach (var (command, shown) in commands)
        {
            var args = command.Split(' ');
            var path = Path.Combine(_temporary.Path, args[^1]);
            var output = new StringWriter();
            var code = HeirloomCommand.Run([.. args[..^1], path], output, new StringWriter());

            Assert.Equal(shown.Replace(args[^1], path, StringComparison.Ordinal), output.ToString().ReplaceLineEndings("\n").TrimEnd('\n'));
            Assert.Equal(command == "verify broken" ? 1 : 0, code);
        }
    }

    /// <summary>The README's table: <c>ann</c> 3, <c>bob</c> 1 and <c>cy</c> 7 inserted, <c>bob</c> deleted; and its
    /// copy <c>broken</c>, with byte 120 of its journal overwritten.</summary>
    private async Task WriteCartsAndBroken()
    {
        var carts = Path.Combine(_temporary.Path, "carts");
        await using (var node = new Node())
        {
            var table = DurableTable.Open<string, int>(node, new TableOptions { Name = "carts" }, new DurabilityOptions(carts));
            table.Insert("ann", 3);
            table.Insert("bob", 1);
            table.Delete("bob");
            table.Insert("cy", 7);
            await DurableTable.WhenDurableAsync(table);
            table.Delete();
        }

        var broken = Directory.CreateDirectory(Path.Combine(_temporary.Path, "broken")).FullName;
        foreach (var file in Directory.GetFiles(carts, "*.log"))
        {
            File.Copy(file, Path.Combine(broken, Path.GetFileName(file)));
        }

        await using var journal = File.OpenWrite(Path.Combine(broken, "journal-00000000000000000001.log"));
        journal.Position = 120;
        journal.WriteByte(0xff);
    }

    private static List<(string Command, string Output)> ConsoleCommands(string markdown)
    {
        var commands = new List<(string, string)>();
        foreach (Match block in ConsoleBlock().Matches(markdown.ReplaceLineEndings("\n")))
        {
            foreach (var step in block.Groups[1].Value.Split("$ heirloom ", StringSplitOptions.RemoveEmptyEntries))
            {
                var lines = step.TrimEnd('\n').Split('\n');
                commands.Add((lines[0], string.Join('\n', lines[1..])));
            }
        }

        return commands;
    }

    [GeneratedRegex(@"```console\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ConsoleBlock();
}
