using Broker.Server;

// Everything but the process edges lives in ServerCommand, so tests run it in-process.
using var shutdown = new ShutdownSignal();
return await ServerCommand.RunAsync(args, Console.Out, Console.Error, shutdown.Token);
