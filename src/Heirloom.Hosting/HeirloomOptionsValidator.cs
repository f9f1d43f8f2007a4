using Heirloom.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>Checks <see cref="HeirloomOptions"/> when the host starts, so a bad setting stops the start with a message
/// that names it.</summary>
internal sealed class HeirloomOptionsValidator(IOptions<HostOptions> hostOptions) : IValidateOptions<HeirloomOptions>
{
    public ValidateOptionsResult Validate(string? name, HeirloomOptions options)
    {
        var problems = new List<string>();
        var hostTimeout = hostOptions.Value.ShutdownTimeout;
        if (options.ShutdownTimeout <= TimeSpan.Zero || options.ShutdownTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"Heirloom:ShutdownTimeout is {Durations.Format(options.ShutdownTimeout)}; it must be more than zero and at most an hour.");
        }
        else if (hostTimeout != Timeout.InfiniteTimeSpan && options.ShutdownTimeout >= hostTimeout)
        {
            // The host cancels every hosted service's stop at its own timeout: the node would be abandoned half stopped,
            // its journals possibly unflushed.
            problems.Add(
                $"Heirloom:ShutdownTimeout is {Durations.Format(options.ShutdownTimeout)}, not less than the host's own shutdown timeout " +
                $"(HostOptions.ShutdownTimeout, {Durations.Format(hostTimeout)}), which would give up on the node before it stops. " +
                "Lower Heirloom:ShutdownTimeout, or raise the host's with builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ...).");
        }

        if (options.FsyncLagLimit <= TimeSpan.Zero)
        {
            problems.Add($"Heirloom:FsyncLagLimit is {Durations.Format(options.FsyncLagLimit)}; it must be more than zero (a few seconds, say).");
        }

        if (options.ExitCodeWhenRootGivesUp is < 0 or > 255)
        {
            problems.Add($"Heirloom:ExitCodeWhenRootGivesUp is {options.ExitCodeWhenRootGivesUp}; an exit code other systems read is 1 to 255 (or leave it empty to keep 0).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
