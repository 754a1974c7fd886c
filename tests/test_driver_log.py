"""The driver's expected lost-connection line after a restart of Neo4j is INFO, not ERROR; its other errors stay."""

import logging

import pytest

pytestmark = pytest.mark.unit


def test_the_defunct_connection_line_is_info_and_other_errors_stay(caplog):
    log = logging.getLogger("neo4j.io")  # the logger the driver's Bolt connections log on, filtered by LOGGING
    with caplog.at_level(logging.INFO):
        log.error("Failed to read from defunct connection IPv4Address(('127.0.0.1', 7687)) (...)")
        log.error("Failed to write data to connection ResolvedIPv4Address(('127.0.0.1', 7687)) (...)")
        log.error("Something the portal does not expect")
    levels = [(r.levelname, r.getMessage().split(" ")[0:3]) for r in caplog.records if r.name == "neo4j.io"]
    assert [lv for lv, _ in levels] == ["INFO", "INFO", "ERROR"], levels
