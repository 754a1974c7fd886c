"""The layers of operations/targets/ and devtools/: no module of either package reaches, through the package's own
imports, a module that imports it back, counting imports inside functions and those only the type checker reads; an
import inside a function says why in a comment; no module of operations/targets/ is longer than 500 lines. Every
module is parsed, none is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("operations/targets", "devtools")
MAX_LINES = 500
# The via-worker adapter imports operations.remote late because remote imports operations.targets; it moves with
# remote.py, outside these packages' layering.
LATE_IMPORTS_ELSEWHERE = {"operations/targets/reported.py"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path, known: dict[str, Path], name: str | None = None) -> list[tuple[int, str, bool]]:
    """(line, module of ``known``, whether inside a function) of every import in ``path`` (the module ``name``) that
    names one, type-checking-only imports included."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    head = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*head, *([base] if base else [])])
                # ``from pkg import mod`` imports the module; ``from mod import name`` the module itself
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
            found.extend((child.lineno, t, inside) for t in targets if t in known and t != name)
            visit(child, inside)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle_within_the_package(package):
    known = package_modules(package)
    assert len(known) > 3, f"{package} was not found"
    graph = {m: {t for _, t, _ in imports(p, known)} for m, p in known.items()}
    assert circles(graph) == []


def test_the_check_sees_late_and_type_checking_imports_and_circles(tmp_path):
    sample = tmp_path / "base.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nfrom .errors import Failed\n\nif TYPE_CHECKING:\n"
        "    from .local import Local\n\ndef f():\n    from . import snapshots\n    import pkg.docker.target\n"
    )
    known = {m: sample for m in ("pkg.errors", "pkg.local", "pkg.snapshots", "pkg.docker.target")}
    assert imports(sample, known, "pkg.base") == [
        (2, "pkg.errors", False),
        (5, "pkg.local", False),
        (8, "pkg.snapshots", True),
        (9, "pkg.docker.target", True),
    ]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_an_import_inside_a_function_says_why(package):
    known = package_modules(package)
    silent = []
    for path in known.values():
        if str(path.relative_to(ROOT)) in LATE_IMPORTS_ELSEWHERE:
            continue
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions:
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                # the reason on the import's line or on the line above it
                line, above = lines[node.lineno - 1], lines[node.lineno - 2]
                if "#" not in line and "#" not in above:
                    silent.append(f"{path.relative_to(ROOT)}:{node.lineno}: {line.strip()}")
    assert sorted(set(silent)) == []


def test_no_module_of_the_targets_is_over_500_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / "operations/targets").rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
