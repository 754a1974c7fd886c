"""The house's one direction of imports, read from the source (nothing is imported).

The layers, lowest first (docs/architecture.md)::

    security -> identities -> operations (ground floor: models, checks, humanize, ...) -> compute -> operations.targets
    -> operations.runs -> operations.backups -> operations.upgrades | operations.unattended -> operations.glance
    -> alchemiscale_portal (the composition root)

A module may import its own layer and the layers below it, never one above; the two peers (upgrades, unattended) do
not import each other; no app imports the composition root. A lower layer reaches a higher one only through a
registry the higher one fills in ``AppConfig.ready()``, a signal, or a Celery task sent by name. On top of that the
module graph (imports inside functions included) has no circle, and an import of the project's own modules inside a
function carries a comment on its line, or the line before, saying why.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("security", "identities", "operations", "alchemiscale_portal", "compute", "devtools")
#: the dev tools sit beside the house (no layer: the house never imports them, tests/test_no_dev_imports.py), but
#: their modules must not form a circle either
PRODUCTION = ("security", "identities", "operations", "alchemiscale_portal", "compute")
MAX_LINES = 500

#: (module prefix, rank); the longest matching prefix decides. Equal ranks of different prefixes are peers.
LAYERS: list[tuple[str, int]] = [
    ("security", 0),
    ("identities", 1),
    ("operations", 2),
    ("compute", 3),
    ("operations.targets", 4),
    ("operations.runs", 5),
    ("operations.backups", 6),
    ("operations.upgrades", 7),
    ("operations.unattended", 7),
    ("operations.glance", 8),
    ("alchemiscale_portal", 9),
]
#: the settings may name values that app modules own without importing any app machinery
ALLOWED = {("alchemiscale_portal.settings", "operations.target_names")}


def layer_of(module: str) -> tuple[str, int] | None:
    best = None
    for prefix, rank in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, rank)
    return best


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        if not (root / package).is_dir():
            continue
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path, root)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path, module: str, modules: dict[str, Path]) -> list[tuple[str, int, bool, bool]]:
    """(imported project module, line, inside a function?, commented?) for every import of the project's code."""
    source = path.read_text()
    lines = source.splitlines()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool, bool]] = []

    def commented(node: ast.stmt) -> bool:
        """A comment on the import's lines, or above the block of imports it belongs to."""
        if any("#" in line for line in lines[node.lineno - 1 : (node.end_lineno or node.lineno)]):
            return True
        i = node.lineno - 2
        while i >= 0 and (not lines[i].strip() or lines[i].strip().startswith(("from ", "import ", ")"))):
            i -= 1
        return i >= 0 and lines[i].strip().startswith("#")

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only: never executed
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = _resolve(alias.name, modules)
                    if target:
                        found.append((target, child.lineno, in_function, commented(child)))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - child.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in modules else _resolve(base, modules)
                    if target:
                        found.append((target, child.lineno, in_function, commented(child)))
            visit(child, inner, type_checking)

    visit(ast.parse(source, filename=str(path)), False, False)
    return found


def graph(root: Path = ROOT) -> dict[str, list[tuple[str, int, bool, bool]]]:
    modules = project_modules(root)
    return {m: [i for i in imports_of(p, m, modules) if i[0] != m] for m, p in modules.items()}


def upward_imports(edges: dict[str, list[tuple[str, int, bool, bool]]]) -> list[str]:
    wrong = []
    for module, imports in edges.items():
        mine = layer_of(module)
        for target, line, _, _ in imports:
            theirs = layer_of(target)
            if mine is None or theirs is None or (module, target) in ALLOWED:
                continue
            if theirs[1] > mine[1] or (theirs[1] == mine[1] and theirs[0] != mine[0]):
                wrong.append(f"{module}:{line} imports {target} ({theirs[0]} is not below {mine[0]})")
    return wrong


def circles(edges: dict[str, list[tuple[str, int, bool, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    succ = defaultdict(set)
    for module, imports in edges.items():
        succ[module].update(t for t, *_ in imports)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                connect(w)
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

    for v in list(edges):
        if v not in index:
            connect(v)
    return found


def silent_function_imports(edges: dict[str, list[tuple[str, int, bool, bool]]]) -> list[str]:
    return [
        f"{module}:{line} imports {target} inside a function without a comment saying why"
        for module, imports in edges.items()
        for target, line, in_function, commented in imports
        if in_function and not commented
    ]


def test_imports_go_one_way():
    edges = graph()
    assert len(edges) > 100, "the project's modules were not found"
    assert upward_imports(edges) == []


def test_no_import_circle():
    assert circles(graph()) == []


def test_imports_inside_functions_say_why():
    assert silent_function_imports(graph()) == []


def test_no_production_module_is_over_500_lines():
    """A longer module is split by collaborator (docs/architecture.md); migrations are written by Django."""
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for package in PRODUCTION
        if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The checker itself can fail: a ground-floor module that imports the run machinery is reported."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "operations" / "runs").mkdir()
    (tmp_path / "operations" / "runs" / "__init__.py").write_text("")
    (tmp_path / "operations" / "runs" / "engine.py").write_text("from operations import checks\n")
    (tmp_path / "operations" / "checks.py").write_text("def f():\n    from operations.runs import engine\n")
    edges = graph(tmp_path)
    assert upward_imports(edges) == [
        "operations.checks:2 imports operations.runs.engine (operations.runs is not below operations)"
    ]
    assert circles(edges) == [["operations.checks", "operations.runs.engine"]]
    assert silent_function_imports(edges) == [
        "operations.checks:2 imports operations.runs.engine inside a function without a comment saying why"
    ]
