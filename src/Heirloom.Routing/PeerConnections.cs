using System.Collections.Concurrent;

namespace Heirloom.Routing;

/// <summary>One connection per peer address, made on first use and again after it is lost; concurrent callers share
/// the connection being made.</summary>
internal sealed class PeerConnections(RouterOptions options, TimeProvider time) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<PeerConnection>>> _peers = new(StringComparer.Ordinal);

    /// <summary>The open connection to <paramref name="address"/>, if one is made already: the path every call but the
    /// first to a peer takes, with nothing to wait for.</summary>
    public bool TryGetOpen(string address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PeerConnection? connection)
    {
        connection = _peers.TryGetValue(address, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result.IsOpen
            ? lazy.Value.Result
            : null;
        return connection is not null;
    }

    /// <summary>The open connection to <paramref name="address"/>, connecting if there is none.</summary>
    /// <exception cref="PeerRefusedException">The peer refused this node.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">Nothing listens there now.</exception>
    public async Task<PeerConnection> GetAsync(string address, CancellationToken cancellation)
    {
        while (true)
        {
            var lazy = _peers.GetOrAdd(address, a => new Lazy<Task<PeerConnection>>(() => ConnectAsync(a)));
            PeerConnection connection;
            try
            {
                connection = await lazy.Value.WaitAsync(cancellation).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A failed connection is not kept: the next call connects again (the peer may be back, or replaced).
                if (lazy.Value.IsFaulted || lazy.Value.IsCanceled)
                {
                    _peers.TryRemove(new KeyValuePair<string, Lazy<Task<PeerConnection>>>(address, lazy));
                }

                throw;
            }

            if (connection.IsOpen)
            {
                return connection;
            }

            // Lost since: replaced once, by whichever caller sees it first.
            if (_peers.TryRemove(new KeyValuePair<string, Lazy<Task<PeerConnection>>>(address, lazy)))
            {
                _ = connection.DisposeAsync().AsTask();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _peers.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
            }
        }

        _peers.Clear();
    }

    private async Task<PeerConnection> ConnectAsync(string address)
    {
        // Not the first caller's token: the connection is shared, and outlives that caller's call.
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
        return await PeerConnection.ConnectAsync(address, options, time, timeout.Token).ConfigureAwait(false);
    }
}
