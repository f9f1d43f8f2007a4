using System.Security.Cryptography;

namespace Heirloom.Tests.Persistence.Golden;

/// <summary>The golden files as built into the test output, checked against the digests they were committed with, so
/// that a changed file fails loudly instead of hiding a change of format.</summary>
internal static class GoldenFiles
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Persistence", "Golden");

    /// <summary>The path of a golden file, once its bytes are checked to be those committed.</summary>
    public static string Checked(string relative, string sha256)
    {
        var path = Path.Combine(Root, relative);
        Assert.True(File.Exists(path), $"{path} is missing: the golden files are copied to the test output by Heirloom.Tests.csproj.");
        Assert.Equal(sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        return path;
    }

    /// <summary>A copy of a golden durable directory in <paramref name="into"/> (opening writes to a directory), with
    /// every file checked first.</summary>
    public static string CopyDirectory(string name, IReadOnlyDictionary<string, string> digests, string into)
    {
        var target = Path.Combine(into, name);
        Directory.CreateDirectory(target);
        foreach (var (file, sha256) in digests)
        {
            File.Copy(Checked(Path.Combine(name, file), sha256), Path.Combine(target, file));
        }

        Assert.Equal(digests.Count, Directory.GetFiles(Path.Combine(Root, name)).Length);
        return target;
    }
}
