namespace Heirloom.Tests;

/// <summary>A fresh directory under the system's temporary directory, deleted with everything in it on dispose.</summary>
internal sealed class TemporaryDirectory(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory($"heirloom-{prefix}-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
