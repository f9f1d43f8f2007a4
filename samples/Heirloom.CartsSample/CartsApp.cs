using Heirloom.Behaviours;
using Heirloom.Dashboard;
using Heirloom.Hosting;
using Heirloom.Management;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Heirloom.CartsSample;

/// <summary>A shopping-carts service: carts in a durable managed table, written by one worker, the observer page
/// behind authorization.</summary>
public static class CartsApp
{
    /// <summary>Builds the application.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"))
            .AddManagedTable<CartWorker>("carts", table => table.Durable(builder.Configuration["Carts:Directory"] ?? "carts-data"));
        builder.Services.AddHealthChecks().AddCheck<HeirloomHealthCheck>("node").AddCheck<ManagedTablesHealthCheck>("tables").AddCheck<DurableTablesHealthCheck>("journals");
        builder.Services.AddAuthorization().AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();

        var app = builder.Build();
        app.MapPost("/carts/{cart}/items", (string cart, Item item, GenServerClient<CartWorker> carts, CancellationToken aborted) => Answer(carts.CallAsync<Cart>(new AddItem(cart, item), cancellationToken: aborted)));
        app.MapGet("/carts/{cart}", (string cart, GenServerClient<CartWorker> carts, CancellationToken aborted) => Answer(carts.CallAsync<Cart>(new GetCart(cart), cancellationToken: aborted)));
        app.MapHealthChecks("/health", new() { ResponseWriter = (http, report) => { http.Response.ContentType = HealthReportWriter.ContentType; return HealthReportWriter.WriteJsonAsync(http.Response.Body, report, http.RequestAborted); } });
        app.MapHeirloomDashboard("/heirloom").RequireAuthorization();
        return app;
    }

    // Not started: nothing happened, retry (503). Started: a crash in the handler, outcome unknown (500).
    private static async Task<IResult> Answer(ValueTask<Cart> call)
    {
        try
        {
            return Results.Ok(await call);
        }
        catch (CallFailedException e)
        {
            return Results.StatusCode(e.HandlerStarted ? StatusCodes.Status500InternalServerError : StatusCodes.Status503ServiceUnavailable);
        }
    }
}

/// <summary>The carts' only writer; requests reach it by the table's name, through its client.</summary>
public sealed class CartWorker(ILogger<CartWorker> logger) : TableWorker<string, Cart>
{
    // Adding is answered once durable; the only other request is GetCart.
    protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) => ValueTask.FromResult(request is AddItem add
        ? ReplyWhenDurable(from, Add(add))
        : CallResult.Reply(Table.TryGetValue(((GetCart)request).Cart, out var cart) ? cart : new Cart([])));

    private Cart Add(AddItem add)
    {
        var cart = new Cart([.. Table.TryGetValue(add.Cart, out var current) ? current.Items : [], add.Item]);
        Table.Insert(add.Cart, cart);
        logger.LogInformation("Cart {Cart}: added {Quantity} x {Sku}", add.Cart, add.Item.Quantity, add.Item.Sku);
        return cart;
    }
}

public sealed record Item(string Sku, int Quantity);

public sealed record Cart(Item[] Items);

public sealed record AddItem(string Cart, Item Item);

public sealed record GetCart(string Cart);
