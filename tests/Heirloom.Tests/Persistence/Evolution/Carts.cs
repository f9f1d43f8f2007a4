using System.Text.Json.Nodes;
using Heirloom.Persistence;

namespace Heirloom.Tests.Persistence.Evolution;

/// <summary>The shapes a cart takes across releases, and their codecs.</summary>
public static class Carts
{
    /// <summary>Release 1: the item count stored as text.</summary>
    public sealed record CartV1(string Customer, string Items);

    /// <summary>Release 2: the item count as a number (a member's type changed: needs a step).</summary>
    public sealed record CartV2(string Customer, int Items);

    /// <summary>Release 3: a total added, computed from the items by the step.</summary>
    public sealed record CartV3(string Customer, int Items, decimal Total);

    /// <summary>Release 1's shape with a stable name.</summary>
    [CodecName("cart")]
    public sealed record Cart(string Customer, string Items);

    /// <summary>The same shape as <see cref="Cart"/> under another CLR name: a renamed type.</summary>
    [CodecName("cart")]
    public sealed record ShoppingCart(string Customer, string Items);

    /// <summary><see cref="Cart"/> with members added (no step needed: old values read them as their defaults).</summary>
    [CodecName("cart")]
    public sealed record CartWithNote(string Customer, string Items, string? Note, int Priority);

    /// <summary>The golden directory's type, renamed, keeping its old CLR-type name as an alias.</summary>
    [CodecName("golden-cart", Aliases = ["json:Heirloom.Tests.Persistence.Golden.GoldenCart"])]
    public sealed record RenamedGoldenCart(string Customer, int Items, decimal Total);

    /// <summary>The golden directory's type, renamed, with a stable name but without the old name as an alias.</summary>
    [CodecName("golden-cart")]
    public sealed record RenamedWithoutAlias(string Customer, int Items, decimal Total);

    public static ICodec<CartV1> V1 => new JsonCodec<CartV1>("cart");

    public static ICodec<CartV2> V2Only => new JsonCodec<CartV2>("cart", 2);

    public static ICodec<CartV3> V3Only => new JsonCodec<CartV3>("cart", 3);

    /// <summary>Version 2 with the step from version 1.</summary>
    public static ICodec<CartV2> V2 => new VersionedCodec<CartV1>(V1).Then(V2Only, old => new CartV2(old.Customer, int.Parse(old.Items, System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Version 3 with the steps from versions 1 and 2.</summary>
    public static ICodec<CartV3> V3 => new VersionedCodec<CartV1>(V1)
        .Then(V2Only, old => new CartV2(old.Customer, int.Parse(old.Items, System.Globalization.CultureInfo.InvariantCulture)))
        .Then(V3Only, old => new CartV3(old.Customer, old.Items, old.Items * 2.5m));

    /// <summary>Version 2 with a step written against the old value's JSON instead of a type kept for the old shape.</summary>
    public static ICodec<CartV2> V2FromJson => new VersionedCodec<JsonNode>(new JsonCodec<JsonNode>("cart"))
        .Then(V2Only, old => new CartV2((string)old["Customer"]!, int.Parse((string)old["Items"]!, System.Globalization.CultureInfo.InvariantCulture)));
}
