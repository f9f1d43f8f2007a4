using System.Collections.Concurrent;

namespace Heirloom.Routing.Tests;

/// <summary>Named gates a test opens to let a held worker go on, and learns from when the worker is held.</summary>
internal static class Gates
{
    private static readonly ConcurrentDictionary<string, (TaskCompletionSource Held, TaskCompletionSource Open)> s_gates = new();

    public static (TaskCompletionSource Held, TaskCompletionSource Open) Get(string name) =>
        s_gates.GetOrAdd(name, _ => (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)));
}
