"""The production packages never import the dev harness: nothing under alchemiscale_portal/, identities/ or
operations/ imports devtools (the project's Neo4j installer, Java 11 fetching, stand-ins), scripts or tests, at
module level or inside a function. Every module is parsed, none is imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("alchemiscale_portal", "identities", "operations")
DEV = {"devtools", "scripts", "tests"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in the file (relative ones stay inside their package)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_production_packages_do_not_import_dev_tooling():
    files = [p for package in PRODUCTION for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 50, "the production packages were not found"
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for line, module in imported_modules(path)
        if module.split(".")[0] in DEV
    ]
    assert offending == []


def test_the_check_sees_an_import_of_devtools(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom . import sibling\n\ndef f():\n    from devtools.local_neo4j import fetch\n"
        "    import tests.conftest\n    return __import__('scripts.services')\n"
    )
    assert [m for _, m in imported_modules(sample)] == [
        "os",
        "devtools.local_neo4j",
        "tests.conftest",
        "scripts.services",
    ]
