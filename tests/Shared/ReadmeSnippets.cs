using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Heirloom.Testing;

/// <summary>
/// Holds a README's C# blocks to the code a test runs: the test marks what it runs between <c>// readme:begin</c> and
/// <c>// readme:end</c> lines, and the README must show exactly those regions (indentation and a block's using
/// directives aside, which a test file has at its top), so the README's code is never a copy that drifted.
/// </summary>
internal static partial class ReadmeSnippets
{
    /// <summary>Asserts that the C# blocks of <paramref name="readme"/> (a path from the repository's root) are, in
    /// order, the marked regions of the calling test's file.</summary>
    public static void AssertBlocksAreRegions(string readme, [CallerFilePath] string testFile = "")
    {
        var blocks = CSharpBlocks(File.ReadAllText(Path.Combine(RepositoryRoot(testFile), readme)));
        Assert.Equal(Regions(testFile), blocks);
    }

    /// <summary>Asserts that each marked region of the calling test's file is one of the C# blocks of
    /// <paramref name="readme"/>, which may show more.</summary>
    public static void AssertBlocksInclude(string readme, [CallerFilePath] string testFile = "")
    {
        var blocks = CSharpBlocks(File.ReadAllText(Path.Combine(RepositoryRoot(testFile), readme)));
        Assert.All(Regions(testFile), region => Assert.Contains(region, blocks));
    }

    private static List<string> CSharpBlocks(string markdown) =>
        [.. CSharpBlock().Matches(markdown.ReplaceLineEndings("\n")).Select(m => Dedent(UsingDirective().Replace(m.Groups[1].Value, "")))];

    private static List<string> Regions(string testFile)
    {
        var regions = new List<string>();
        List<string>? region = null;
        foreach (var line in File.ReadAllLines(testFile))
        {
            if (line.Trim() == "// readme:begin")
            {
                region = [];
            }
            else if (line.Trim() == "// readme:end" && region is not null)
            {
                regions.Add(Dedent(string.Join('\n', region)));
                region = null;
            }
            else
            {
                region?.Add(line);
            }
        }

        Assert.NotEmpty(regions);
        return regions;
    }

    private static string Dedent(string text)
    {
        var lines = text.TrimEnd().Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..].TrimEnd() : l.TrimEnd())).Trim('\n');
    }

    /// <summary>The repository's root: the first directory above <paramref name="testFile"/> holding Heirloom.sln.</summary>
    public static string RepositoryRoot([CallerFilePath] string testFile = "")
    {
        var directory = Path.GetDirectoryName(testFile);
        while (directory is not null && !File.Exists(Path.Combine(directory, "Heirloom.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new InvalidOperationException($"No Heirloom.sln above {testFile}.");
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^using [A-Za-z.]+;\n", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();
}
