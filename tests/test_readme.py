"""The README is for operators: at most 200 lines, the two commands first, every page and picture it links there."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_short_with_the_two_commands_first():
    assert len(README.splitlines()) <= 200
    sections = re.findall(r"^## (.+)$", README, re.M)
    assert sections[:2] == ["The two commands", "A ten-minute tour"]
    commands = README.split("## The two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in commands.splitlines() if line.startswith("make")] == [
        ["make", "run"],
        ["make", "test"],
    ]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_link_and_picture_is_there():
    targets = re.findall(r"\]\(((?:docs/)[^)#]+)(?:#[^)]*)?\)", README)
    assert len(targets) > 25 and sum(t.endswith(".png") for t in targets) == 2
    assert [t for t in targets if not (ROOT / t).is_file()] == []
