using System.Net;
using System.Text.Json;
using Heirloom.CartsSample;
using Heirloom.Processes;

namespace Heirloom.WebSample.Tests;

/// <summary>The carts sample on Kestrel, on a loopback port, driven over HTTP as its clients would.</summary>
public sealed class CartsSampleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-carts-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(WebApplication App, HttpClient Client)> StartAsync()
    {
        var app = CartsApp.Build(["--urls", "http://127.0.0.1:0", "--Carts:Directory", _directory, "--Logging:LogLevel:Default", "Warning"]);
        await app.StartAsync();
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(app.Urls.Single()) };
        return (app, client);
    }

    [Fact]
    public async Task Items_added_to_a_cart_are_acknowledged_durable_and_read_back_after_a_worker_crash_and_a_restart()
    {
        var (app, client) = await StartAsync();
        var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("application/json", health.Content.Headers.ContentType?.MediaType);
        var checks = (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Equal(["journals", "node", "tables"], checks.EnumerateObject().Select(c => c.Name).Order());
        Assert.StartsWith("handed off to", checks.GetProperty("tables").GetProperty("data").GetProperty("carts").GetString());
        Assert.Empty((await client.GetFromJsonAsync<Cart>("/carts/ann"))!.Items);
        var added = await client.PostAsJsonAsync("/carts/ann/items", new Item("tea", 2));
        Assert.Equal([new Item("tea", 2)], (await added.Content.ReadFromJsonAsync<Cart>())!.Items);

        // A crashed worker's successor gets the table with the cart.
        var node = app.Services.GetRequiredService<Node>();
        var worker = node.WhereIs("carts");
        node.Exit(worker, ExitReason.Custom("crash"));
        await client.PostAsJsonAsync("/carts/ann/items", new Item("cake", 1));
        Assert.NotEqual(worker, node.WhereIs("carts"));
        Assert.Equal([new Item("tea", 2), new Item("cake", 1)], (await client.GetFromJsonAsync<Cart>("/carts/ann"))!.Items);
        await app.StopAsync();
        await app.DisposeAsync();

        (app, client) = await StartAsync();
        Assert.Equal([new Item("tea", 2), new Item("cake", 1)], (await client.GetFromJsonAsync<Cart>("/carts/ann"))!.Items);
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Fact]
    public async Task The_dashboard_asks_an_anonymous_visitor_to_sign_in()
    {
        var (app, client) = await StartAsync();
        var response = await client.GetAsync("/heirloom");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("Login", response.Headers.Location!.ToString());
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
