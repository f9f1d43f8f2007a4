using System.Diagnostics;
using System.Text;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Conformance;

/// <summary>
/// Differential conformance: random operation sequences run on real ETS (through escript) and on Heirloom, results
/// compared exactly, as multisets where ETS leaves the order unspecified, over both storages (on the GC heap and off
/// it). Needs Erlang/OTP (apt-get install -y erlang-nox); without it the test fails rather than skips, so CI can never
/// pass it silently.
/// </summary>
public sealed class EtsConformanceTests(ITestOutputHelper output)
{
    private const int SequencesPerType = 50;
    private const int OperationsPerSequence = 60;

    [Theory]
    [InlineData(TableType.Set, "set", TableStorage.Heap)]
    [InlineData(TableType.Set, "set", TableStorage.OffHeap)]
    [InlineData(TableType.OrderedSet, "ordered_set", TableStorage.Heap)]
    [InlineData(TableType.OrderedSet, "ordered_set", TableStorage.OffHeap)]
    [InlineData(TableType.Bag, "bag", TableStorage.Heap)]
    [InlineData(TableType.Bag, "bag", TableStorage.OffHeap)]
    [InlineData(TableType.DuplicateBag, "duplicate_bag", TableStorage.Heap)]
    [InlineData(TableType.DuplicateBag, "duplicate_bag", TableStorage.OffHeap)]
    public Task Random_sequences_give_the_same_results_as_ets(TableType type, string erlangType, TableStorage storage) =>
        CompareWithEts(type, erlangType, storage, SequencesPerType, OperationsPerSequence, keys: 12);

    /// <summary>Fewer, longer sequences over 400 keys: tables of hundreds of objects, so hash tables grow and ordered
    /// sets split their nodes, still compared with ETS operation by operation.</summary>
    [Theory]
    [InlineData(TableType.Set, "set", TableStorage.Heap)]
    [InlineData(TableType.Set, "set", TableStorage.OffHeap)]
    [InlineData(TableType.OrderedSet, "ordered_set", TableStorage.Heap)]
    [InlineData(TableType.OrderedSet, "ordered_set", TableStorage.OffHeap)]
    [InlineData(TableType.Bag, "bag", TableStorage.Heap)]
    [InlineData(TableType.Bag, "bag", TableStorage.OffHeap)]
    [InlineData(TableType.DuplicateBag, "duplicate_bag", TableStorage.Heap)]
    [InlineData(TableType.DuplicateBag, "duplicate_bag", TableStorage.OffHeap)]
    public Task Long_sequences_over_many_keys_give_the_same_results_as_ets(TableType type, string erlangType, TableStorage storage) =>
        CompareWithEts(type, erlangType, storage, sequenceCount: 4, operationCount: 1_500, keys: 400);

    private async Task CompareWithEts(TableType type, string erlangType, TableStorage storage, int sequenceCount, int operationCount, int keys)
    {
        var baseSeed = Environment.GetEnvironmentVariable("HEIRLOOM_CONFORMANCE_SEED") is { } fixedSeed ? int.Parse(fixedSeed) : Environment.TickCount;
        output.WriteLine($"base seed {baseSeed} (set HEIRLOOM_CONFORMANCE_SEED to replay)");
        var sequences = Enumerable.Range(0, sequenceCount)
            .Select(i => (Seed: baseSeed + i, Ops: OperationGenerator.Generate(type, baseSeed + i, operationCount, keys)))
            .ToList();

        var erlang = RunEts(erlangType, sequences);
        await using var node = new Node();
        var checkedOps = 0;
        foreach (var (seed, ops) in sequences)
        {
            var expected = erlang[seed];
            var options = new TableOptions { Type = type, Access = TableAccess.Public };
            var table = storage == TableStorage.OffHeap ? OffHeapTable.New<long, long>(node, options) : Table.New<long, long>(node, options);
            for (var i = 0; i < ops.Count; i++)
            {
                var actual = ops[i].Apply(table);
                Assert.True(expected[i] == actual, $"{type} seed {seed}, operation {i} {ops[i].ToErlang()}: ETS gave {expected[i]}, Heirloom {actual}.\nSequence: {string.Join(", ", ops.Take(i + 1).Select(o => o.ToErlang()))}");
                checkedOps++;
            }

            table.Delete();
        }

        output.WriteLine($"{checkedOps} operations agreed with ETS");
        Assert.Equal(sequenceCount * operationCount, checkedOps);
    }

    private static Dictionary<int, List<string>> RunEts(string erlangType, List<(int Seed, List<Operation> Ops)> sequences)
    {
        var input = Path.GetTempFileName();
        var terms = new StringBuilder();
        foreach (var (seed, ops) in sequences)
        {
            terms.Append('{').Append(seed).Append(',').Append(erlangType).Append(",[")
                .AppendJoin(",", ops.Select(o => o.ToErlang())).Append("]}.\n");
        }

        File.WriteAllText(input, terms.ToString());
        try
        {
            var script = Path.Combine(AppContext.BaseDirectory, "ets_runner.escript");
            ProcessStartInfo start = new("escript", [script, input]) { RedirectStandardOutput = true, RedirectStandardError = true };
            Process erl;
            try
            {
                erl = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("The conformance tests run real Erlang/OTP and could not start escript; install it with: apt-get install -y erlang-nox", e);
            }

            using (erl)
            {
                var stdout = erl.StandardOutput.ReadToEndAsync();
                var stderr = erl.StandardError.ReadToEndAsync();
                erl.WaitForExit();
                if (erl.ExitCode != 0)
                {
                    throw new InvalidOperationException($"escript failed ({erl.ExitCode}): {stderr.Result}");
                }

                var results = new Dictionary<int, List<string>>();
                List<string>? current = null;
                foreach (var line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (line.StartsWith("seq ", StringComparison.Ordinal))
                    {
                        results[int.Parse(line[4..])] = current = [];
                    }
                    else
                    {
                        current!.Add(line);
                    }
                }

                return results;
            }
        }
        finally
        {
            File.Delete(input);
        }
    }
}
