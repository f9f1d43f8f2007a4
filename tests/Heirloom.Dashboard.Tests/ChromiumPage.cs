using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;

namespace Heirloom.Dashboard.Tests;

/// <summary>
/// A page in Debian's headless chromium, driven through the DevTools protocol: the page keeps running (its event
/// stream open) while the test reads its DOM and takes screenshots.
/// </summary>
internal sealed class ChromiumPage : IAsyncDisposable
{
    private readonly Process _browser;
    private readonly ClientWebSocket _socket;
    private readonly string _profile;
    private int _nextId;

    private ChromiumPage(Process browser, ClientWebSocket socket, string profile) => (_browser, _socket, _profile) = (browser, socket, profile);

    /// <summary>Where the screenshots of a test run go.</summary>
    public static string ScreenshotDirectory { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard")).FullName;

    public static async Task<ChromiumPage> OpenAsync(string url)
    {
        var profile = Path.Combine(Path.GetTempPath(), "heirloom-chromium-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo(Executable()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--window-size=1400,1000", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}", url })
        {
            start.ArgumentList.Add(argument);
        }

        var browser = Process.Start(start)!;
        _ = browser.StandardOutput.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? endpoint = null;
        while (endpoint is null)
        {
            var line = await browser.StandardError.ReadLineAsync(bound.Token) ?? throw new InvalidOperationException("chromium exited before opening its DevTools endpoint.");
            if (line.StartsWith("DevTools listening on ", StringComparison.Ordinal))
            {
                endpoint = line["DevTools listening on ".Length..];
            }
        }

        _ = DrainAsync(browser.StandardError);
        var port = new Uri(endpoint).Port;
        using var http = new HttpClient();
        string? pageSocket = null;
        while (pageSocket is null)
        {
            var targets = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list", bound.Token));
            pageSocket = targets.RootElement.EnumerateArray().Where(t => t.GetProperty("type").GetString() == "page")
                .Select(t => t.GetProperty("webSocketDebuggerUrl").GetString()).FirstOrDefault();
            if (pageSocket is null)
            {
                await Task.Delay(50, bound.Token);
            }
        }

        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(pageSocket), bound.Token);
        return new ChromiumPage(browser, socket, profile);
    }

    /// <summary>Evaluates a JavaScript expression in the page; its value as a string.</summary>
    public async Task<string> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true });
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.ToString() : "";
    }

    /// <summary>The page's DOM now.</summary>
    public Task<string> DomAsync() => EvaluateAsync("document.documentElement.outerHTML");

    /// <summary>Waits until <paramref name="condition"/> (a JavaScript expression) is true in the page.</summary>
    public async Task WaitForAsync(string condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await EvaluateAsync($"Boolean({condition})") != "True")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The page did not show {condition} within {timeout}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Saves a screenshot of the page; returns its path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var result = await SendAsync("Page.captureScreenshot", new { format = "png" });
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result.GetProperty("data").GetString()!));
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _browser.Kill(entireProcessTree: true);
        await _browser.WaitForExitAsync();
        _browser.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // chromium's last writes may race the delete; the profile is in the temporary directory.
        }
    }

    private async Task<JsonElement> SendAsync(string method, object parameters)
    {
        var id = ++_nextId;
        var request = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters });
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _socket.SendAsync(request, WebSocketMessageType.Text, endOfMessage: true, bound.Token);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer, bound.Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);

            var answer = JsonDocument.Parse(message.ToArray()).RootElement;
            if (answer.TryGetProperty("id", out var answerId) && answerId.GetInt32() == id)
            {
                return answer.TryGetProperty("error", out var error)
                    ? throw new InvalidOperationException($"DevTools {method} failed: {error}")
                    : answer.GetProperty("result").Clone();
            }
        }
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }

    private static string Executable()
    {
        var configured = Environment.GetEnvironmentVariable("HEIRLOOM_CHROMIUM");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
        {
            foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                if (File.Exists(Path.Combine(directory, name)))
                {
                    return Path.Combine(directory, name);
                }
            }
        }

        throw new InvalidOperationException("The dashboard tests drive a headless chromium and none was found: install it (apt-get install -y chromium) or set HEIRLOOM_CHROMIUM to its path.");
    }
}
