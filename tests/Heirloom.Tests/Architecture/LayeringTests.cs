using System.Reflection;
using System.Text.RegularExpressions;
using Heirloom.Processes;

namespace Heirloom.Tests.Architecture;

/// <summary>
/// The core library's layers (docs/architecture.md) each depend only on the layers below them. Checked two ways: every
/// type's signatures (base type, interfaces, fields, properties, methods, events) by reflection, and every source
/// file's namespace imports and qualified names, which also covers references inside method bodies.
/// </summary>
public sealed partial class LayeringTests
{
    // Each layer and the layers it may use. Behaviours and Tables are peers: neither uses the other.
    // Diagnostics (the telemetry's names) is below them all.
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["Diagnostics"] = [],
        ["Processes"] = ["Diagnostics"],
        ["Behaviours"] = ["Diagnostics", "Processes"],
        ["Tables"] = ["Diagnostics", "Processes"],
        ["Persistence"] = ["Diagnostics", "Processes", "Tables"],
        ["Management"] = ["Diagnostics", "Processes", "Behaviours", "Tables", "Persistence"],
    };

    [Fact]
    public void Every_type_signature_uses_only_its_own_layer_and_the_ones_below()
    {
        var violations = new List<string>();
        foreach (var type in typeof(Node).Assembly.GetTypes())
        {
            if (LayerOf(type) is not { } layer)
            {
                continue;
            }

            foreach (var used in SignatureTypes(type))
            {
                if (LayerOf(used) is { } usedLayer && !Allowed(layer, usedLayer))
                {
                    violations.Add($"{type.FullName} ({layer}) uses {used.FullName} ({usedLayer})");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations.Distinct()));
    }

    [Fact]
    public void Every_source_file_imports_only_its_own_layer_and_the_ones_below()
    {
        var source = Path.Combine(RepositoryRoot(), "src", "Heirloom");
        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var layer = relative.Split(Path.DirectorySeparatorChar)[0];
            if (!s_allowed.ContainsKey(layer))
            {
                continue;
            }

            foreach (Match match in HeirloomNamespace().Matches(File.ReadAllText(file)))
            {
                var usedLayer = match.Groups["layer"].Value;
                if (s_allowed.ContainsKey(usedLayer) && !Allowed(layer, usedLayer))
                {
                    violations.Add($"{relative} ({layer}) uses Heirloom.{usedLayer}");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void The_checks_catch_an_upward_reference()
    {
        Assert.False(Allowed("Processes", "Tables"));
        Assert.False(Allowed("Tables", "Persistence"));
        Assert.False(Allowed("Tables", "Behaviours"));
        Assert.True(Allowed("Management", "Persistence"));
        Assert.Equal("Tables", LayerOf(typeof(Heirloom.Tables.Storage.StoreCapabilities)));
        Assert.Matches(HeirloomNamespace(), "using Heirloom.Tables;");
    }

    private static bool Allowed(string layer, string used) => layer == used || s_allowed[layer].Contains(used);

    private static string? LayerOf(Type type)
    {
        var parts = (type.Namespace ?? "").Split('.');
        return parts is ["Heirloom", var layer, ..] && s_allowed.ContainsKey(layer) ? layer : null;
    }

    private static IEnumerable<Type> SignatureTypes(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var direct = new List<Type?> { type.BaseType };
        direct.AddRange(type.GetInterfaces());
        direct.AddRange(type.GetFields(all).Select(f => f.FieldType));
        direct.AddRange(type.GetProperties(all).Select(p => p.PropertyType));
        direct.AddRange(type.GetEvents(all).Select(e => e.EventHandlerType));
        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            direct.AddRange(method.GetParameters().Select(p => p.ParameterType));
            if (method is MethodInfo info)
            {
                direct.Add(info.ReturnType);
            }
        }

        return direct.OfType<Type>().SelectMany(Unwrap);
    }

    /// <summary>A type and every type it is built from (generic arguments, element types).</summary>
    private static IEnumerable<Type> Unwrap(Type type)
    {
        if (type.HasElementType)
        {
            return Unwrap(type.GetElementType()!);
        }

        return type.IsGenericType ? type.GetGenericArguments().SelectMany(Unwrap).Append(type) : [type];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Heirloom.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Heirloom.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\bHeirloom\.(?<layer>[A-Z]\w*)")]
    private static partial Regex HeirloomNamespace();
}
