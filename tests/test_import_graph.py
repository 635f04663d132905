"""No import circles among the project's modules.

A circle means neither module can be understood, tested or moved without the other, and its
import order decides what works (a schema that grew with whatever happened to be imported came
from one). The graph is read from the source with `ast`: every import counts, including those
inside functions and under `TYPE_CHECKING`, since each is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("activities", "bench", "localdev", "orchestrator", "shared")


def _project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for function_app.py and every module of PACKAGES."""
    modules = {"function_app": ROOT / "function_app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _imported_names(module: str, path: Path) -> list[str]:
    """The dotted names `module` imports; `from a import b` names `a.b`, which is module `a.b`
    when there is one and else resolves to `a`."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: None if path.name == "__init__.py" else -1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def _import_graph() -> dict[str, set[str]]:
    """Each project module -> the project modules it imports (the deepest module a name
    resolves to)."""
    modules = _project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in _imported_names(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def test_the_graph_covers_the_modules_whose_circles_were_removed():
    graph = _import_graph()
    assert "shared.data.base" in graph["shared.data.tables"]
    assert "shared.data.tables" in graph["shared.data.schema"]
    assert "shared.data.columns" in graph["shared.data.context"]
    assert "localdev.durable.client_api" in graph["localdev.durable.runtime"]


def test_no_module_imports_itself_through_others():
    try:
        TopologicalSorter(_import_graph()).prepare()
    except CycleError as circle:
        raise AssertionError(f"import circle: {' -> '.join(circle.args[1])}") from None
