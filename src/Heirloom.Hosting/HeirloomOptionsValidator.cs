using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>Checks <see cref="HeirloomOptions"/> when the host starts, so a bad setting stops the start with a message
/// that names it.</summary>
internal sealed class HeirloomOptionsValidator : IValidateOptions<HeirloomOptions>
{
    public ValidateOptionsResult Validate(string? name, HeirloomOptions options) =>
        options.ShutdownTimeout <= TimeSpan.Zero || options.ShutdownTimeout > TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Fail($"Heirloom:ShutdownTimeout is {options.ShutdownTimeout}; it must be more than zero and at most an hour.")
            : ValidateOptionsResult.Success;
}
