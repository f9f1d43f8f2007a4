using System.Buffers.Binary;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Postgres.Tests;

/// <summary>The local journal's spool stores each write as its journal record's payload, byte for byte; a spool of the
/// first format (entries encoded by the spool) is still read, and one of a newer format is refused, saying so.</summary>
public sealed class ShippingSpoolFormatTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-spool-format-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_write_is_spooled_as_its_payload_and_shipped_as_the_rows_encoding_without_reencoding()
    {
        await using var node = new Node();
        var replica = new CapturingReplica();
        var table = new ReplicaStandby<long, string>(TableType.Bag).Promote(node, new TableOptions { Name = "carts", Type = TableType.Bag }, replica, 0);
        table.Insert(7, "tea");
        table.Insert(7, "milk");
        table.Insert(8, "bread");
        table.Delete(8);
        var record = replica.Records[1];
        Assert.False(record.Payload.IsEmpty);

        using (var spool = ShippingSpool.Open(node, "carts", new DurabilityOptions(_directory)))
        {
            spool.SetEpoch(3);
            replica.Records.ForEach(spool.Add);
            await spool.WhenDurableAsync();
        }

        using var reopened = ShippingSpool.Open(node, "carts", new DurabilityOptions(_directory));
        var pending = reopened.Pending();
        Assert.Equal([1L, 2L, 3L, 4L], pending.Select(r => r.Sequence));
        Assert.Equal(record.Payload.ToArray(), pending[1].Payload.ToArray());
        Assert.Equal(3L, reopened.Epoch);

        // The key's state shipped is the payload's framing of its values: what the rows hold, read back by a standby.
        var states = KeyStates.Of(pending, 0, pending.Count);
        var key = Codecs.For<long>();
        var at = Array.FindIndex(states.Keys, k => key.Read(k) == 7);
        Assert.Equal(KeyStateEncoding.Encode([Encoded("tea"), Encoded("milk")]), states.States[at]);
        Assert.Equal(2L, states.Sequences[at]);
        var gone = Array.FindIndex(states.Keys, k => key.Read(k) == 8);
        Assert.Equal((null, 4L), (states.States[gone], states.Sequences[gone]));
        var standby = new ReplicaStandby<long, string>(TableType.Bag);
        standby.Apply(states.Keys[at], states.States[at]);
        Assert.Equal(["tea", "milk"], standby.Lookup(7));
    }

    [Fact]
    public async Task A_spool_of_the_first_format_is_read_and_one_of_a_newer_format_is_refused()
    {
        await using var node = new Node();
        var options = new TableOptions { Name = "heirloom.spool.carts", Type = TableType.OrderedSet, Access = TableAccess.Public };
        var first = DurableTable.Open<long, byte[]>(node, options, new DurabilityOptions(_directory));
        first.Insert(0, BitConverter.GetBytes(4L));
        first.Insert(5, FirstFormat(Codecs.For<long>(), 7, [Encoded("tea")]));
        await DurableTable.WhenDurableAsync(first);
        first.Delete();

        using (var spool = ShippingSpool.Open(node, "carts", new DurabilityOptions(_directory)))
        {
            var pending = Assert.Single(spool.Pending());
            Assert.Equal(5L, pending.Sequence);
            Assert.True(pending.Payload.IsEmpty);
            var states = KeyStates.Of([pending], 0, 1);
            Assert.Equal(KeyStateEncoding.Encode([Encoded("tea")]), Assert.Single(states.States));
            Assert.Throws<InvalidOperationException>(() => spool.Add(JournalRecord.FromPayload(6, new byte[] { 2 })));
            spool.Discard();
            spool.Add(JournalRecord.FromPayload(6, new byte[] { 2 }));
            Assert.Equal([2], Assert.Single(spool.Pending()).Payload.ToArray());
        }

        var newer = DurableTable.Open<long, byte[]>(node, options, new DurabilityOptions(_directory));
        newer.Insert(-1, [3]);
        await DurableTable.WhenDurableAsync(newer);
        newer.Delete();
        var refused = Assert.Throws<InvalidDataException>(() => ShippingSpool.Open(node, "carts", new DurabilityOptions(_directory)));
        Assert.Contains("spool format 3, written by a newer release", refused.Message);
        Assert.Null(node.Tables.WhereIs("heirloom.spool.carts"));
    }

    private static byte[] Encoded(string value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Codecs.For<string>().Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One key's state as the first spool format stored a write.</summary>
    private static byte[] FirstFormat(ICodec<long> codec, long key, byte[][] values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        codec.Write(buffer, key);
        var keyBytes = buffer.WrittenSpan.ToArray();
        var bytes = new List<byte>();
        void Int(int value)
        {
            var four = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(four, value);
            bytes.AddRange(four);
        }

        Int(1);
        Int(keyBytes.Length);
        bytes.AddRange(keyBytes);
        Int(values.Length);
        foreach (var value in values)
        {
            Int(value.Length);
            bytes.AddRange(value);
        }

        return [.. bytes];
    }

    private sealed class CapturingReplica : ITableReplica
    {
        public List<JournalRecord> Records { get; } = [];

        public bool WritesWaitForCommit => false;

        public void Append(JournalRecord record) => Records.Add(record);

        public ValueTask WhenCommittedAsync(long sequence) => ValueTask.CompletedTask;
    }
}
