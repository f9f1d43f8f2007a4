using Heirloom.Behaviours;
using Heirloom.Hosting;
using Heirloom.Hosting.TestHost;
using Microsoft.Extensions.Hosting;

// A host process as a user writes one, for the tests that need a real OS process: its exit code, its console output.
// The first argument picks what its one supervision tree does; the rest is configuration ("--Heirloom:... value").
var builder = Host.CreateApplicationBuilder(args[1..]);
var child = args[0] switch
{
    // Crashes as soon as it runs, every time: the tree gives up and the application stops.
    "gives-up" => ChildSpec.ForGenServer("crasher", () => new Crasher(crashInInit: false)),

    // Fails its init: the tree, and so the host, does not start.
    "start-fails" => ChildSpec.ForGenServer("crasher", () => new Crasher(crashInInit: true)),
    _ => throw new ArgumentException($"Unknown scenario '{args[0]}': give gives-up or start-fails."),
};
builder.Services.AddHeirloom(builder.Configuration.GetSection(HeirloomOptions.SectionName))
    .AddSupervisor(new SupervisorOptions { Intensity = 2, Children = [child] });
await builder.Build().RunAsync();
