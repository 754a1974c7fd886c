"""Figures for people: sizes and durations as every page and command writes them."""

import pytest

from operations.humanize import human_seconds, human_size

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "seconds, words",
    [
        (-3, "0 s"),
        (0.4, "0 s"),
        (42, "42 s"),
        (60, "1 min"),
        (185, "3 min 5 s"),
        (7260, "2 h 1 min"),
        (86400, "1 d"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ],
)
def test_durations(seconds, words):
    assert human_seconds(seconds) == words


@pytest.mark.parametrize(
    "size, words", [(512, "512 B"), (1536, "1.5 KiB"), (21.5 * 2**20, "21.5 MiB"), (3 * 2**40, "3.0 TiB")]
)
def test_sizes(size, words):
    assert human_size(size) == words
