using BenchmarkDotNet.Running;
using Broker.Bench.Load;

if (args.Length > 0 && args[0] == "load")
{
    return await LoadCommand.RunAsync(args.AsMemory(1)).ConfigureAwait(false);
}

if (args.Length > 0 && args[0] == "soak")
{
    return await Broker.Bench.Soak.SoakCommand.RunAsync(args.AsMemory(1)).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
