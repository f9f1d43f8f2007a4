using Heirloom.WebSample;

await CounterApp.Build(args).RunAsync();
