"""The shape of the package: modules import each other in one direction only."""

from __future__ import annotations

import ast
from pathlib import Path

import stylecycle

PACKAGE = Path(stylecycle.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The stylecycle modules ``path`` imports, at its top or inside functions alike (a lazy
    import only hides a cycle), except under ``if TYPE_CHECKING:``; with the packages a module
    lies in (importing ``stylecycle.nn.norm`` runs ``stylecycle/nn/__init__.py`` first), except
    the top-level package and those ``path`` itself lies in, which are being imported already."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for node in ast.walk(guard)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    with_packages = set()
    for module in found & modules:
        parts = module.split(".")
        with_packages.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return (with_packages & modules) - {name} - own_packages


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(paths)) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_imports_one_that_imports_it_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_every_update_reads_top_to_bottom_in_one_screen():
    import inspect

    from stylecycle.training.step import UPDATES

    for method, update in UPDATES.items():
        assert len(inspect.getsource(update).splitlines()) <= 60, method
