"""The project package is the composition root: settings (a package split by concern), URLs, the Celery app; the
apps do not import from it (helpers such as credential masking belong to an app). Every file is parsed, none is
imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_no_dev_imports import imported_modules

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "alchemiscale_portal" / "settings"
APPS = ("identities", "operations", "security")
# Apps import nothing of the project package (tests/test_layers.py keeps the whole direction).
STILL_IMPORTED: set[str] = set()


def assigned_settings(path: Path) -> dict[str, list[int]]:
    """Setting names (upper case) a module binds, conditional bindings included: name -> lines."""
    found: dict[str, list[int]] = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper() and not target.id.startswith("_"):
                found.setdefault(target.id, []).append(node.lineno)
    return found


def changes_in_place(path: Path, names: set[str]) -> list[int]:
    """Lines where one of ``names`` is changed in place: a method call (insert, append, ...) or an item or slice
    assignment. (``+=`` is a second binding, which :func:`assigned_settings` counts.)"""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id in names and (isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Store)):
                lines.append(node.lineno)
    return sorted(lines)


def test_apps_do_not_import_the_project_packages_internals():
    files = [p for app in APPS for p in sorted((ROOT / app).rglob("*.py"))]
    assert len(files) > 50, "the apps were not found"
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for line, module in imported_modules(path)
        if module.split(".")[0] == "alchemiscale_portal" and module not in STILL_IMPORTED
    ]
    assert offending == []


def test_each_setting_is_defined_in_one_settings_module_only():
    # __init__.py star-imports the modules in order, so a second definition would silently win over the first.
    modules = sorted(p for p in SETTINGS.glob("*.py") if p.name != "__init__.py")
    assert len(modules) >= 5, "the settings package was not found"
    where: dict[str, list[str]] = {}
    for path in modules:
        for name in assigned_settings(path):
            where.setdefault(name, []).append(path.name)
    assert {name: places for name, places in where.items() if len(places) > 1} == {}
    assert assigned_settings(SETTINGS / "__init__.py") == {}
    for name in ("INSTALLED_APPS", "MIDDLEWARE", "SECRET_KEY", "NEO4J_URL", "BACKUP_DIR", "ALERT_EMAILS"):
        assert name in where, name


def test_the_app_and_middleware_lists_are_complete_where_they_are_defined():
    """Each is bound once and never changed afterwards (no insert, append, ``+=``): what the list says is what Django
    gets."""
    lists = {"INSTALLED_APPS", "MIDDLEWARE"}
    bound = {}
    for path in sorted(SETTINGS.glob("*.py")):
        assert changes_in_place(path, lists) == [], path.name
        bound.update({(path.name, name): lines for name, lines in assigned_settings(path).items() if name in lists})
    assert sorted(name for _, name in bound) == sorted(lists)
    assert all(len(lines) == 1 for lines in bound.values()), bound


def test_the_layout_checks_see_what_they_look_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "A = 1\nif A:\n    B: int = 2\nelse:\n    B = 3\n_PRIVATE = 4\nlower = 5\nINSTALLED_APPS = []\n"
        "INSTALLED_APPS.insert(0, 'x')\nMIDDLEWARE += ['y']\nINSTALLED_APPS[0] = 'z'\nprint(INSTALLED_APPS[0])\n"
    )
    assert assigned_settings(sample) == {"A": [1], "B": [3, 5], "INSTALLED_APPS": [8], "MIDDLEWARE": [10]}
    assert changes_in_place(sample, {"INSTALLED_APPS", "MIDDLEWARE"}) == [9, 11]
