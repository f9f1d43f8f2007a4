using Heirloom.Cli;

return HeirloomCommand.Run(args, Console.Out, Console.Error);
