using System.IO.Pipelines;
using System.Threading.Channels;

namespace Heirloom.Routing;

/// <summary>
/// The one writer of a connection: frames from any number of callers are queued, and a single loop writes every frame
/// queued so far, then flushes once. Under load, many calls share each flush (and each TCP segment); alone, a frame is
/// flushed at once.
/// </summary>
internal sealed class FrameWriter
{
    private readonly Channel<Frame> _queue = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PipeWriter _output;

    public FrameWriter(PipeWriter output)
    {
        _output = output;
        Completion = RunAsync();
    }

    /// <summary>Ends when the writer is completed or the connection fails.</summary>
    public Task Completion { get; }

    /// <summary>Queues a frame; false when the writer has stopped (the connection is closing).</summary>
    public bool TryWrite(Frame frame) => _queue.Writer.TryWrite(frame);

    /// <summary>Writes what is queued, then stops.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    frame.WriteTo(_output);
                }

                var flushed = await _output.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        finally
        {
            // Later frames are refused, so a caller never waits on a frame that will not be written.
            _queue.Writer.TryComplete();
        }
    }
}
