namespace Heirloom.Persistence;

/// <summary>Receives one object of a table file as its codecs' bytes, valid only during the call.</summary>
/// <param name="key">The key's bytes.</param>
/// <param name="value">The value's bytes.</param>
internal delegate void EncodedObjectVisitor(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);
