using System.Buffers;
using System.Buffers.Binary;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>The table operations on durable tables: the journal layer must change none of them.</summary>
public sealed class DurableTableOperationTests : TableOperationTests, IDisposable
{
    private readonly TemporaryDirectory _temporary = new("operations");
    private int _tables;

    /// <inheritdoc />
    protected override Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options)
    {
        var durability = new DurabilityOptions(Path.Combine(_temporary.Path, $"table-{_tables++}")) { Fsync = FsyncPolicy.None };
        return DurableTable.Open(node, options, durability, CodecFor<TKey>(), CodecFor<TValue>());
    }

    public void Dispose() => _temporary.Dispose();

    private static ICodec<T> CodecFor<T>() =>
        typeof(T) == typeof((long, long)) ? (ICodec<T>)(object)new LongPairCodec() : Codecs.For<T>();

    /// <summary>Both halves of the pair, so a torn value would show after a round trip too.</summary>
    private sealed class LongPairCodec : ICodec<(long A, long B)>
    {
        public string Name => "i64-pair";

        public void Write(IBufferWriter<byte> writer, (long A, long B) value)
        {
            var span = writer.GetSpan(16);
            BinaryPrimitives.WriteInt64LittleEndian(span, value.A);
            BinaryPrimitives.WriteInt64LittleEndian(span[8..], value.B);
            writer.Advance(16);
        }

        public (long A, long B) Read(ReadOnlySpan<byte> data) =>
            (BinaryPrimitives.ReadInt64LittleEndian(data), BinaryPrimitives.ReadInt64LittleEndian(data[8..]));
    }
}
