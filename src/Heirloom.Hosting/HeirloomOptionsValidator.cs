using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>Checks <see cref="HeirloomOptions"/> when the host starts, so a bad setting stops the start with a message
/// that names it.</summary>
internal sealed class HeirloomOptionsValidator : IValidateOptions<HeirloomOptions>
{
    public ValidateOptionsResult Validate(string? name, HeirloomOptions options)
    {
        var problems = new List<string>();
        if (options.ShutdownTimeout <= TimeSpan.Zero || options.ShutdownTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"Heirloom:ShutdownTimeout is {options.ShutdownTimeout}; it must be more than zero and at most an hour.");
        }

        if (options.FsyncLagLimit <= TimeSpan.Zero)
        {
            problems.Add($"Heirloom:FsyncLagLimit is {options.FsyncLagLimit}; it must be more than zero (a few seconds, say).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
