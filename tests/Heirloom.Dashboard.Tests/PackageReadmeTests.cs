using System.Net;
using System.Security.Claims;
using Heirloom.Hosting;
using Heirloom.Testing;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Heirloom.Dashboard.Tests;

/// <summary>The Heirloom.Dashboard package's README, run as written: the dashboard behind an authorization policy.</summary>
public sealed class PackageReadmeTests
{
    [Fact]
    public async Task The_package_readme_puts_page_api_and_events_behind_the_policy()
    {
        string[] args = ["--urls", "http://127.0.0.1:0"];

        // readme:begin
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        builder.Services.AddAuthorizationBuilder().AddPolicy("operators", policy => policy.RequireRole("operator"));
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHeirloomDashboard("/heirloom", dashboard => dashboard.AllowKill = true)   // a kill button per process
           .RequireAuthorization("operators");                                          // page, API and events alike
        // readme:end

        // Stands in for the application's own sign-in page.
        app.MapPost("/sign-in", (string role) => Results.SignIn(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Role, role)], CookieAuthenticationDefaults.AuthenticationScheme)),
            authenticationScheme: CookieAuthenticationDefaults.AuthenticationScheme));
        await app.StartAsync();
        try
        {
            var url = app.Urls.Single();
            string[] dashboard = ["/heirloom/", "/heirloom/api/snapshot", "/heirloom/api/processes", "/heirloom/api/options"];

            using var anonymous = Client(url);
            foreach (var path in dashboard)
            {
                var response = await anonymous.GetAsync(path);
                Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
                Assert.StartsWith("/Account/Login", response.Headers.Location!.PathAndQuery);
            }

            Assert.Equal(HttpStatusCode.Redirect, (await anonymous.PostAsync("/heirloom/api/processes/kill?pid=<0.1.0>", null)).StatusCode);

            using var viewer = await SignedIn(url, "viewer");
            var forbidden = await viewer.GetAsync("/heirloom/api/snapshot");
            Assert.Equal(HttpStatusCode.Redirect, forbidden.StatusCode);
            Assert.StartsWith("/Account/AccessDenied", forbidden.Headers.Location!.PathAndQuery);

            using var operatorClient = await SignedIn(url, "operator");
            foreach (var path in dashboard)
            {
                Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync(path)).StatusCode);
            }

            Assert.Contains("\"allowKill\":true", await operatorClient.GetStringAsync("/heirloom/api/options"));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        ReadmeSnippets.AssertBlocksAreRegions("src/Heirloom.Dashboard/README.md");
    }

    private static HttpClient Client(string url) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(url) };

    private static async Task<HttpClient> SignedIn(string url, string role)
    {
        var client = Client(url);
        var response = await client.PostAsync($"/sign-in?role={role}", null);
        Assert.True(response.IsSuccessStatusCode, $"sign-in answered {response.StatusCode}");
        return client;
    }
}
