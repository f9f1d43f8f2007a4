namespace Heirloom.Routing.Tests;

/// <summary>Reads a key's value (-1 when absent).</summary>
public sealed record Lookup(long Key);

/// <summary>Writes <see cref="Value"/> under <see cref="Key"/>; answered with the value once committed.</summary>
public sealed record Put(long Key, long Value);

/// <summary>Holds the worker until the test releases <see cref="Gate"/>, then replies "released".</summary>
public sealed record Hold(string Gate);

/// <summary>A request type no test registers a codec for.</summary>
public sealed record Unregistered(int Value);

/// <summary>Asks the worker for a reply of a type with no codec.</summary>
public sealed record AskForUnregistered;
