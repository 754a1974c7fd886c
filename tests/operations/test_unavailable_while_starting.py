"""While Neo4j starts, Bolt answers a moment before the database is online and the driver raises
``DatabaseUnavailable`` (a transient error, not ``ServiceUnavailable``). Twenty clients reading the identity list
through a backup's restart met it as a 500 (tests/operations/test_outage_under_load.py); it is the same "Neo4j does
not answer" as a stopped server: the 503 page, and a run step's stated failure."""

import pytest
from django.test import RequestFactory
from neo4j.exceptions import DatabaseUnavailable, TransientError

from identities.unavailable import is_unavailable
from operations.runs import engine
from operations.runs.unavailable import StateStoreUnavailableMiddleware

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

STARTING = "{code: Neo.TransientError.General.DatabaseUnavailable} The database is not currently available"


def test_a_database_not_yet_online_is_neo4j_not_answering():
    assert is_unavailable(DatabaseUnavailable(STARTING))
    try:
        try:
            raise DatabaseUnavailable(STARTING)
        except DatabaseUnavailable as inner:
            raise RuntimeError("while listing identities") from inner
    except RuntimeError as outer:
        assert is_unavailable(outer)
    assert not is_unavailable(TransientError("a deadlock, retried by the caller"))


def test_the_page_is_the_503_and_a_step_fails_with_words():
    request = RequestFactory().get("/admin/identities/useridentity/")
    middleware = StateStoreUnavailableMiddleware(lambda r: None)
    reply = middleware.process_exception(request, DatabaseUnavailable(STARTING))
    assert reply is not None and reply.status_code == 503
    assert "state store unavailable" in reply.content.decode()
    status, words = engine.classify(DatabaseUnavailable(STARTING))
    assert status == "failed" and words.startswith("Neo4j stopped answering")
