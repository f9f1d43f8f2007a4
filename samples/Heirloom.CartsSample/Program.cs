using Heirloom.CartsSample;

CartsApp.Build(args).Run();
