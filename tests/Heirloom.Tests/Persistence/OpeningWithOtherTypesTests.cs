using System.Buffers;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

/// <summary>A durable table opened with other types or codecs than it was written with is refused by name, with or
/// without a snapshot, and a record that does not decode names its file and offset.</summary>
public sealed class OpeningWithOtherTypesTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("types");

    public void Dispose() => _temporary.Dispose();

    private DurabilityOptions Options() => new(_temporary.Path);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Other_value_types_are_refused_naming_the_file_and_both_codec_pairs(bool withSnapshot)
    {
        await WriteStringLongTable(withSnapshot);
        await using var node = new Node();

        var asDouble = Assert.Throws<TableFileException>(() => DurableTable.Open<string, double>(node, new TableOptions(), Options()));
        Assert.Equal(TableFileError.WrongCodec, asDouble.Error);
        Assert.Contains(withSnapshot ? ".htab" : ".log", asDouble.Message);
        Assert.Contains(_temporary.Path, asDouble.Message);
        Assert.Contains("utf8/i64", asDouble.Message);
        Assert.Contains("utf8/f64", asDouble.Message);

        var asLongs = Assert.Throws<TableFileException>(() => DurableTable.Open<long, long>(node, new TableOptions(), Options()));
        Assert.Contains("i64/i64", asLongs.Message);

        var asBag = Assert.Throws<TableFileException>(() => DurableTable.Open<string, long>(node, new TableOptions { Type = TableType.Bag }, Options()));
        Assert.Equal(TableFileError.WrongType, asBag.Error);
        Assert.Contains(_temporary.Path, asBag.Message);

        // Refused without harm: nothing is left open, and the right types still read everything.
        Assert.Empty(node.Tables.All());
        var right = DurableTable.Open<string, long>(node, new TableOptions(), Options());
        Assert.Equal(3, right.Count);
        Assert.Equal(2L, right.Lookup("b").Single());
    }

    [Fact]
    public async Task A_record_that_does_not_decode_names_its_file_and_offset()
    {
        await WriteStringLongTable(withSnapshot: false);
        await using var node = new Node();
        var error = Assert.Throws<TableFileException>(() => DurableTable.Open<string, long>(node, new TableOptions(), Options(), valueCodec: new RefusingCodec()));
        Assert.Equal(TableFileError.WrongCodec, error.Error);
        Assert.Matches(@"journal-0+1\.log at byte \d+: record 1 cannot be read with codecs utf8/i64", error.Message);
        Assert.IsType<FormatException>(error.InnerException);
    }

    private async Task WriteStringLongTable(bool withSnapshot)
    {
        await using var node = new Node();
        var table = DurableTable.Open<string, long>(node, new TableOptions(), Options());
        table.Insert("a", 1);
        table.Insert("b", 2);
        if (withSnapshot)
        {
            await DurableTable.SnapshotAsync(table);
        }

        table.Insert("c", 3);
    }

    /// <summary>Claims the built-in i64 codec's name but cannot read its bytes.</summary>
    private sealed class RefusingCodec : ICodec<long>
    {
        public string Name => "i64";

        public void Write(IBufferWriter<byte> writer, long value) => throw new NotSupportedException();

        public long Read(ReadOnlySpan<byte> data) => throw new FormatException($"cannot read {data.Length} bytes");
    }
}
