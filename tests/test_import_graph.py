"""The project's own import graph (ijae/**, baselines/**): no cycles, and the core never imports
its plugins. Every import statement counts, at module level or inside a function."""
import ast
from pathlib import Path

from conftest import REPO

PACKAGES = ("ijae", "baselines")


def project_modules(root: Path = REPO) -> dict[str, Path]:
    """Dotted module name -> file, for every module of PACKAGES (a package is its __init__)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules) -> str | None:
    """The most specific project module that ``name`` (a dotted import target) names."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports_of(module: str, path: Path, modules) -> set[str]:
    """The project modules that ``module`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            # "from a import b" imports the module a.b when there is one, else a name of a
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        found |= {t for t in (_resolve(t, modules) for t in targets) if t and t != module}
    return found


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_project_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 20 and "ijae.registry" in graph["ijae.config"]  # the walk sees imports
    assert cycles(graph) == []


def test_the_core_never_imports_the_baselines():
    offending = {m: sorted(i for i in targets if i.split(".")[0] == "baselines")
                 for m, targets in import_graph().items() if m.split(".")[0] == "ijae"}
    assert {m: t for m, t in offending.items() if t} == {}


def test_the_walk_finds_function_level_relative_imports_and_cycles(tmp_path):
    """The checker itself, on a made-up tree: a cycle through a function-level relative import,
    and a core module importing a plugin, are both seen."""
    (tmp_path / "ijae" / "sub").mkdir(parents=True)
    (tmp_path / "baselines").mkdir()
    (tmp_path / "ijae" / "__init__.py").write_text("")
    (tmp_path / "ijae" / "sub" / "__init__.py").write_text("")
    (tmp_path / "ijae" / "a.py").write_text("from ijae.sub import b\n")
    (tmp_path / "ijae" / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (tmp_path / "ijae" / "c.py").write_text("import baselines.p as p\n")
    (tmp_path / "baselines" / "__init__.py").write_text("")
    (tmp_path / "baselines" / "p.py").write_text("from ijae import c\n")
    graph = import_graph(tmp_path)
    assert graph["ijae.a"] == {"ijae.sub.b"} and graph["ijae.sub.b"] == {"ijae.a"}
    assert cycles(graph) == [["baselines.p", "ijae.c"], ["ijae.a", "ijae.sub.b"]]
