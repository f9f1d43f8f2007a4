using System.Globalization;
using System.Text;
using Heirloom.Tables;

namespace Heirloom.Conformance;

/// <summary>One ETS operation with small integer keys and values, printable as the Erlang term the runner applies and
/// applicable to a Heirloom table, whose result is printed the way Erlang's <c>~w</c> prints ETS's.</summary>
internal sealed record Operation(string Name, long[] Args, (long Key, long Value)[]? Objects = null)
{
    public string ToErlang()
    {
        var parts = new List<string> { Name };
        if (Objects is not null)
        {
            parts.Add(ObjectList(Objects));
        }

        parts.AddRange(Args.Select(a => a.ToString(CultureInfo.InvariantCulture)));
        return "{" + string.Join(",", parts) + "}";
    }

    public string Apply(Table<long, long> table)
    {
        try
        {
            return ApplyCore(table);
        }
        catch (TableException)
        {
            return "error";
        }
    }

    private string ApplyCore(Table<long, long> t)
    {
        var ordered = t.Type == TableType.OrderedSet;
        long A(int i) => Args[i];
        IEnumerable<KeyValuePair<long, long>> Pairs() => Objects!.Select(o => new KeyValuePair<long, long>(o.Key, o.Value));
        switch (Name)
        {
            case "insert": t.Insert(A(0), A(1)); return "true";
            case "insert_list": t.Insert(Pairs()); return "true";
            case "insert_new": return Bool(t.InsertNew(A(0), A(1)));
            case "insert_new_list": return Bool(t.InsertNew(Pairs()));
            case "lookup": return ObjectList(t.Lookup(A(0)).Select(v => (A(0), v)));
            case "member": return Bool(t.ContainsKey(A(0)));
            case "take": return ObjectList(t.Take(A(0)).Select(v => (A(0), v)));
            case "delete": t.Delete(A(0)); return "true";
            case "delete_object": t.DeleteObject(A(0), A(1)); return "true";
            case "delete_all_objects": t.DeleteAllObjects(); return "true";
            case "update_counter": return Int(t.UpdateCounter(A(0), A(1)));
            case "update_counter_default": return Int(t.UpdateCounter(A(0), new CounterUpdate<long>(A(1)).WithDefault(A(2))));
            case "update_counter_threshold": return Int(t.UpdateCounter(A(0), new CounterUpdate<long>(A(1)).WithThreshold(A(2), A(3))));
            case "select_count_gt": return Int(t.SelectCount((_, v) => v > A(0)));
            case "select_gt": return Sorted(ordered, t.Select((_, v) => v > A(0), (k, v) => (k, v)));
            case "select_reverse_gt": return Sorted(ordered, t.SelectReverse((_, v) => v > A(0), (k, v) => (k, v)));
            case "select_limit_gt": return ObjectList(t.Select((_, v) => v > A(0), (k, v) => (k, v), (int)A(1)).Items);
            case "select_delete_gt": return Int(t.SelectDelete((_, v) => v > A(0)));
            case "select_replace_add": return Int(t.SelectReplace((_, v) => v > A(0), (_, v) => v + A(1)));
            case "tab2list": return Sorted(ordered, t.ToList().Select(p => (p.Key, p.Value)));
            case "size": return Int(t.Count);
            case "sum": return Int(t.Fold(0L, (acc, _, v) => acc + v));
            case "first": return Key(t.TryFirst(out var first), first);
            case "last": return Key(t.TryLast(out var last), last);
            case "next": return Key(t.TryNext(A(0), out var next), next);
            case "prev": return Key(t.TryPrevious(A(0), out var previous), previous);
            case "range_keys":
                var keys = t.Select((k, _) => k >= A(0) && k <= A(1), (k, _) => k);
                return "[" + string.Join(",", (ordered ? keys : (IEnumerable<long>)keys.Order()).Select(Int)) + "]";
            default: throw new InvalidOperationException($"unknown operation {Name}");
        }
    }

    private static string Bool(bool b) => b ? "true" : "false";

    private static string Int(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Key(bool found, long key) => found ? Int(key) : "'$end_of_table'";

    private static string Sorted(bool ordered, IEnumerable<(long Key, long Value)> objects) =>
        ObjectList(ordered ? objects : objects.Order());

    private static string ObjectList(IEnumerable<(long Key, long Value)> objects)
    {
        var text = new StringBuilder("[");
        foreach (var (key, value) in objects)
        {
            text.Append(text.Length > 1 ? ",{" : "{").Append(Int(key)).Append(',').Append(Int(value)).Append('}');
        }

        return text.Append(']').ToString();
    }
}
