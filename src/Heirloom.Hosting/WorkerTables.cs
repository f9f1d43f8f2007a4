using Heirloom.Management;
using Heirloom.Persistence;

namespace Heirloom.Hosting;

/// <summary>What a table added with its worker type needs from that type: the table's key and value types, and the
/// codecs to store them with. Shared by the managed and the clustered tables of the Generic Host.</summary>
internal static class WorkerTables
{
    /// <summary>The key and value types of the <c>TableWorker&lt;TKey, TValue&gt;</c> that <paramref name="worker"/>
    /// derives from.</summary>
    /// <param name="worker">The worker type.</param>
    /// <param name="kind">What the table is, for the message ("managed table", "clustered table").</param>
    /// <exception cref="ArgumentException">The worker is not a table worker.</exception>
    public static (Type Key, Type Value) TableTypesOf(Type worker, string kind)
    {
        for (var type = worker; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(TableWorker<,>))
            {
                return (type.GenericTypeArguments[0], type.GenericTypeArguments[1]);
            }
        }

        throw new ArgumentException($"{worker.Name} is not a TableWorker<TKey, TValue>: a {kind}'s worker derives from TableWorker<TKey, TValue>, whose type arguments are the table's key and value types.", nameof(worker));
    }

    /// <summary>The codec given in the table's settings, or the built-in one for <typeparamref name="T"/>, or
    /// System.Text.Json's.</summary>
    /// <exception cref="ArgumentException">The codec given is not an <see cref="ICodec{T}"/>.</exception>
    public static ICodec<T> CodecFor<T>(object? given, string table, string kind) => given switch
    {
        ICodec<T> codec => codec,
        null => BuiltInOrJson<T>(),
        _ => throw new ArgumentException($"The codec {given.GetType().Name} given for {kind} '{table}' is not an ICodec<{typeof(T).Name}>; give a codec of the table's key or value type."),
    };

    private static ICodec<T> BuiltInOrJson<T>()
    {
        try
        {
            return Codecs.For<T>();
        }
        catch (NotSupportedException)
        {
            return new JsonCodec<T>();
        }
    }
}
