using Heirloom.Behaviours;

namespace Heirloom.Hosting;

/// <summary>The root supervision trees declared with <see cref="HeirloomBuilder"/>, in declaration order.</summary>
internal sealed class SupervisionTrees
{
    private readonly List<Func<IServiceProvider, SupervisorOptions>> _trees = [];

    public IReadOnlyList<Func<IServiceProvider, SupervisorOptions>> All => _trees;

    public void Add(Func<IServiceProvider, SupervisorOptions> tree) => _trees.Add(tree);
}
