namespace Heirloom.Tables;

/// <summary>One chunk of a select with a limit (ETS's <c>{Matches, Continuation}</c>).</summary>
/// <typeparam name="TResult">What the projection returns.</typeparam>
/// <param name="Items">The matches of this chunk, at most the limit.</param>
/// <param name="Continuation">Where to continue with <see cref="SelectContinuation{TResult}.Next"/>; null when the table is exhausted.</param>
public sealed record SelectPage<TResult>(IReadOnlyList<TResult> Items, SelectContinuation<TResult>? Continuation);
