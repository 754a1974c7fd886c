"""``python3 -m devtools.local_neo4j`` (the scripts' entry point) reports what the operator must do as one
``error:`` line, also when the failure comes from fetching Java 11 for Neo4j 4.4 (``devtools/java11.py``): run as
``__main__``, the module must share its error class with java11 rather than with a second copy of itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.local_neo4j import NEO4J_44_VERSION

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def test_a_java11_failure_is_an_error_line_not_a_traceback(tmp_path):
    # 4.4's jars count as fetched; Java 11 is not, and without apt-get on the PATH java11 gives up at once.
    (tmp_path / f"neo4j-community-{NEO4J_44_VERSION}").mkdir()
    (tmp_path / f"neo4j-community-{NEO4J_44_VERSION}" / "complete").write_text(NEO4J_44_VERSION + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.local_neo4j", "fetch", "--version", NEO4J_44_VERSION],
        env={"PATH": str(tmp_path / "no-tools"), "PORTAL_CACHE_DIR": str(tmp_path)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (
        1,
        "error: apt-get is needed to fetch Java 11 for Neo4j 4.4 (this works on Debian only)\n",
    )
