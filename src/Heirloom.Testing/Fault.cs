using System.Globalization;

namespace Heirloom.Testing;

/// <summary>
/// One injected fault: its kind, the step of the run before which it strikes, and for a kill which process (an index
/// into the live, unprotected processes in pid order, modulo their count). Written as <c>kill:3@120</c>,
/// <c>throw@300</c>, <c>enospc@450</c>, <c>eio@500</c> or <c>fsync@610</c>; a schedule is such words separated by spaces.
/// </summary>
/// <param name="Step">The step (1 is the first piece of work run) before which the fault strikes.</param>
/// <param name="Kind">What it does.</param>
/// <param name="Target">For <see cref="FaultKind.Kill"/>, which process; ignored otherwise.</param>
public readonly record struct Fault(long Step, FaultKind Kind, int Target = 0)
{
    private static readonly (FaultKind Kind, string Word)[] s_words =
    [
        (FaultKind.Kill, "kill"), (FaultKind.Throw, "throw"), (FaultKind.DiskFull, "enospc"), (FaultKind.IoError, "eio"), (FaultKind.FsyncFailure, "fsync"),
    ];

    /// <summary>The fault as a schedule writes it, such as <c>kill:3@120</c>.</summary>
    public override string ToString()
    {
        var kind = Kind;
        var word = s_words.First(w => w.Kind == kind).Word;
        return Kind == FaultKind.Kill
            ? string.Create(CultureInfo.InvariantCulture, $"{word}:{Target}@{Step}")
            : string.Create(CultureInfo.InvariantCulture, $"{word}@{Step}");
    }

    /// <summary>Writes a schedule: the faults in order, separated by spaces.</summary>
    /// <param name="faults">The faults.</param>
    public static string Format(IEnumerable<Fault> faults) => string.Join(' ', faults);

    /// <summary>Reads a schedule written by <see cref="Format"/>, as a failing run prints it.</summary>
    /// <param name="schedule">Words such as <c>kill:3@120 enospc@450</c>; empty for no fault.</param>
    /// <exception cref="FormatException">A word is not a fault; the message names it and the forms that are.</exception>
    public static IReadOnlyList<Fault> Parse(string schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var faults = new List<Fault>();
        foreach (var word in schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            faults.Add(ParseOne(word));
        }

        return faults.OrderBy(f => f.Step).ToList();
    }

    private static Fault ParseOne(string word)
    {
        var at = word.IndexOf('@', StringComparison.Ordinal);
        var head = at < 0 ? word : word[..at];
        var colon = head.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? head : head[..colon];
        var kind = s_words.Where(w => w.Word == name).Select(w => (FaultKind?)w.Kind).FirstOrDefault();
        if (at < 0 || kind is null
            || !long.TryParse(word[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var step) || step < 1)
        {
            throw new FormatException($"'{word}' is not a fault; write kill:<target>@<step>, throw@<step>, enospc@<step>, eio@<step> or fsync@<step>, with a step of 1 or more, as a failing run prints them.");
        }

        var target = 0;
        if (colon >= 0 && !int.TryParse(head[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out target))
        {
            throw new FormatException($"'{word}' has no target number after the colon; write it as kill:3@120.");
        }

        return new Fault(step, kind.Value, target);
    }
}
