"""Every Cypher text in the compute app only reads: no clause that writes (SET, CREATE, MERGE, DELETE, REMOVE) and
no procedure call. Read from the source, so a query built in a function is caught too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "compute"
WRITES = re.compile(r"\b(SET|CREATE|MERGE|DELETE|DETACH|REMOVE|CALL|FOREACH|LOAD\s+CSV)\b", re.IGNORECASE)
CYPHER = re.compile(r"\b(MATCH|RETURN)\b")


def cypher_texts() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        # actions.py is the app's one module that writes (its two actions, behind a permission and the step-up)
        if "migrations" in path.parts or path.name == "actions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CYPHER.search(node.value):
                found.append((str(path.relative_to(ROOT.parent)), node.lineno, node.value))
    return found


def test_the_compute_app_has_queries_to_check():
    names = {text for _, _, text in cypher_texts()}
    assert len(names) >= 10


def test_no_query_writes():
    writing = [
        f"{path}:{line}: {WRITES.search(text).group(0)}" for path, line, text in cypher_texts() if WRITES.search(text)
    ]
    assert writing == []
