namespace Heirloom.Behaviours;

/// <summary>Whether a child is a worker or a supervisor (OTP's <c>type</c>).</summary>
public enum ChildType
{
    /// <summary>A worker process.</summary>
    Worker,

    /// <summary>A supervisor, the root of a subtree.</summary>
    Supervisor,
}
