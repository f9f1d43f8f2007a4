namespace Heirloom.Tables;

/// <summary>
/// Why a table was taken from its owner through no fault of the owner's: another node took a clustered table over, say.
/// A table failed with this as its cause (somewhere in <see cref="Table.Failure"/>'s inner exceptions) is a table the
/// owner merely lost: a <c>TableWorker</c> that meets it fails the one request that met it, drops the table and waits for
/// the next, instead of exiting (which would spend its supervisor's restart intensity on every loss).
/// </summary>
public class TableWithdrawnException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the table was withdrawn.</param>
    /// <param name="inner">The failure behind it, if any.</param>
    public TableWithdrawnException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>Whether <paramref name="exception"/>, or one of its inner exceptions, is a withdrawal.</summary>
    /// <param name="exception">An exception, or null.</param>
    public static bool IsWithdrawal(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TableWithdrawnException)
            {
                return true;
            }
        }

        return false;
    }
}
