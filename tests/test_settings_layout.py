"""The project package is the composition root: settings (a package split by concern), URLs, the Celery app; the
apps do not import from it (helpers such as credential masking belong to an app). Every file is parsed, none is
imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_no_dev_imports import imported_modules

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
APPS = ("identities", "operations", "security")
# The only modules of the project package apps may still import: they have not moved to an app yet.
STILL_IMPORTED = {"alchemiscale_portal.celery", "alchemiscale_portal.unavailable"}


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
