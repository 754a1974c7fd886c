"""The target names the settings accept (``operations/target_names.py``, which the settings import) are exactly the
targets ``get_target`` can build, in the same order, each class carrying its own name."""

from __future__ import annotations

import pytest

from operations.target_names import DOCKER_TARGET, LOCAL_TARGET, TARGET_NAMES
from operations.targets import TARGETS

pytestmark = pytest.mark.unit


def test_every_accepted_name_has_its_target_and_no_other():
    assert tuple(TARGETS) == TARGET_NAMES == (LOCAL_TARGET, DOCKER_TARGET)
    assert all(cls.name == name for name, cls in TARGETS.items())
