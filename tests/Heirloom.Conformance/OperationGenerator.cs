using Heirloom.Tables;

namespace Heirloom.Conformance;

/// <summary>Random operation sequences over a small key space, so that keys collide and every path is taken.</summary>
internal static class OperationGenerator
{
    private const int Values = 6;

    /// <summary>A random sequence; <paramref name="keys"/> small makes keys collide, large makes tables big enough to
    /// split storage nodes.</summary>
    public static List<Operation> Generate(TableType type, int seed, int count, int keys = 12)
    {
        var random = new Random(seed);
        var ordered = type == TableType.OrderedSet;
        var operations = new List<Operation>(count);
        while (operations.Count < count)
        {
            var op = random.Next(28) switch
            {
                < 6 => new Operation("insert", [K(), V()]),
                6 => new Operation("insert_list", [], Objects(distinctKeys: type is TableType.Set or TableType.OrderedSet)),
                7 => new Operation("insert_new", [K(), V()]),
                8 => new Operation("insert_new_list", [], Objects(distinctKeys: true)),
                9 or 10 => new Operation("lookup", [K()]),
                11 => new Operation("member", [K()]),
                12 => new Operation("take", [K()]),
                13 => new Operation("delete", [K()]),
                14 => new Operation("delete_object", [K(), V()]),
                15 => random.Next(4) == 0 ? new Operation("delete_all_objects", []) : new Operation("size", []),
                16 => new Operation("update_counter", [K(), random.Next(-3, 4)]),
                17 => new Operation("update_counter_default", [K(), random.Next(-3, 4), V()]),
                18 => new Operation("update_counter_threshold", [K(), random.Next(-3, 4), random.Next(-2, 8), V()]),
                19 => new Operation("select_count_gt", [V()]),
                20 => new Operation("select_gt", [V()]),
                21 => new Operation("select_reverse_gt", [V()]),
                22 => new Operation("select_delete_gt", [V() + 3]),
                23 => new Operation("select_replace_add", [V(), random.Next(-2, 3)]),
                24 => new Operation(random.Next(2) == 0 ? "tab2list" : "sum", []),
                25 => new Operation("range_keys", [K(), K()]),
                _ when ordered => random.Next(5) switch
                {
                    0 => new Operation("first", []),
                    1 => new Operation("last", []),
                    2 => new Operation("next", [K()]),
                    3 => new Operation("prev", [K()]),
                    _ => new Operation("select_limit_gt", [V(), random.Next(1, 4)]),
                },
                _ => new Operation("lookup", [K()]),
            };
            operations.Add(op);
        }

        return operations;

        long K() => random.Next(keys);
        long V() => random.Next(Values);
        (long, long)[] Objects(bool distinctKeys)
        {
            var objects = Enumerable.Range(0, random.Next(1, 5)).Select(_ => (K(), V()));
            return distinctKeys ? objects.DistinctBy(o => o.Item1).ToArray() : objects.ToArray();
        }
    }
}
