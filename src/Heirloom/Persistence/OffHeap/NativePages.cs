using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>Faulting fresh native memory in ahead of its use.</summary>
internal static unsafe partial class NativePages
{
    // Linux's madvise advice that faults a range in, writable, in one call (5.14 and later).
    private const int PopulateWrite = 23;

    /// <summary>Makes every page of a page-aligned range resident and writable, so that writing it later never waits
    /// for the kernel. On Linux one madvise call does it, about a third cheaper than a fault per page; elsewhere, or on
    /// a kernel without that advice, each page is written once.</summary>
    public static void FaultIn(byte* start, int length)
    {
        if (OperatingSystem.IsLinux() && Advise(start, (nuint)length, PopulateWrite) == 0)
        {
            return;
        }

        for (var page = 0; page < length; page += Environment.SystemPageSize)
        {
            start[page] = 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(void* start, nuint length, int advice);
}
