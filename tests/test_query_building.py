"""How the identities admin's queryset builds Cypher (identities/admin/queryset.py), unit tier: the statements and
parameters it would send, recorded instead of sent. What they return from a real Neo4j is tests/test_node_queryset.py.
"""

import pytest
from django.core.exceptions import FieldError
from django.db.models import Q
from hypothesis import given
from hypothesis import strategies as st

from identities import store
from identities.admin.queryset import NodeQuerySet
from identities.nodes import COMPUTE, USER

pytestmark = pytest.mark.unit


class Recorder:
    """Stands in for ``store.cypher``: keeps (query, params) and answers with ``rows``."""

    def __init__(self, rows=None):
        self.sent: list[tuple[str, dict]] = []
        self.rows = rows if rows is not None else [[0]]

    def __call__(self, query, params=None):
        self.sent.append((query, dict(params or {})))
        return self.rows


@pytest.fixture
def sent(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(store, "cypher", recorder)
    return recorder


def test_an_unfiltered_count_reads_the_label_count(sent):
    NodeQuerySet(USER).count()
    NodeQuerySet(COMPUTE).count(cap=10)
    assert sent.sent == [
        ("MATCH (n:CredentialedUserIdentity) RETURN count(n)", {}),
        ("MATCH (n:CredentialedComputeIdentity) RETURN count(n)", {}),
    ]


def test_filters_become_clauses_with_parameters(sent):
    qs = NodeQuerySet(USER).searching("  Alice ").with_disabled(True).with_org("acme").filter(pk__in=["a", "b", "a"])
    qs.count(cap=500)
    ((query, params),) = sent.sent
    assert query == (
        "MATCH (n:CredentialedUserIdentity) WHERE n.identifier IS NOT NULL AND n.identifier IN $identifiers AND "
        "(toLower(n.identifier) CONTAINS $search OR toLower(coalesce(n.email, '')) CONTAINS $search OR "
        "toLower(coalesce(n.full_name, '')) CONTAINS $search) AND coalesce(n.disabled, false) = $disabled AND "
        "any(s IN coalesce(n.scopes, []) WHERE s STARTS WITH $org_prefix) WITH n LIMIT $cap RETURN count(n)"
    )
    assert params == {"identifiers": ["a", "b"], "search": "alice", "disabled": True, "org_prefix": "acme-", "cap": 500}


def test_expiry_filter_compares_with_now(sent):
    NodeQuerySet(USER).with_expired(True).count()
    NodeQuerySet(USER).with_expired(False).count()
    (q1, p1), (q2, p2) = sent.sent
    assert "(n.expires IS NOT NULL AND n.expires <= $now)" in q1 and "(n.expires IS NULL OR n.expires > $now)" in q2
    assert p1["now"].tzinfo is not None and p2["now"] >= p1["now"]


def test_ordering_is_total_and_pages_are_parameters(sent):
    sent.rows = []
    NodeQuerySet(USER).order_by("-email", "pk", "-email")[10:30]
    ((query, params),) = sent.sent
    assert query.endswith("RETURN n ORDER BY n.email DESC, n.identifier SKIP $skip LIMIT $limit")
    assert (params["skip"], params["limit"]) == (10, 20)
    NodeQuerySet(USER).order_by("expires")[:5]
    assert sent.sent[1][0].endswith("ORDER BY n.expires, n.identifier SKIP $skip LIMIT $limit")


def test_a_filtered_page_and_its_count_are_one_statement(sent):
    sent.rows = [[3, []]]
    assert NodeQuerySet(USER).searching("x").count_with_window(0, 2, cap=100) == 3
    ((query, params),) = sent.sent
    assert "collect(n) AS hits RETURN size(hits), hits[$skip..$end]" in query
    assert (params["skip"], params["end"], params["cap"]) == (0, 2, 100)


def test_nothing_is_a_false_clause(sent):
    NodeQuerySet(USER).none().count()
    assert "AND false" in sent.sent[0][0]


@pytest.mark.parametrize(
    "bad",
    [
        lambda qs: qs.filter(Q(email="x")),
        lambda qs: qs.filter(hashed_key__startswith="$2b"),
        lambda qs: qs.order_by("hashed_key"),
        lambda qs: qs.order_by("n.identifier; MATCH (m) DETACH DELETE m"),
        lambda qs: qs.order_by(Q(pk=1)),
    ],
)
def test_anything_else_is_refused_before_a_query_is_built(sent, bad):
    with pytest.raises(FieldError):
        bad(NodeQuerySet(USER))
    assert sent.sent == []


def _built(term, org):
    recorder = Recorder()
    real = store.cypher
    store.cypher = recorder
    try:
        NodeQuerySet(USER).searching(term).with_org(org).filter(pk=term).count()
    finally:
        store.cypher = real
    return recorder.sent[0]


@given(term=st.text(min_size=1, max_size=30).filter(lambda t: t.strip()), org=st.text(min_size=1, max_size=12))
def test_user_input_only_ever_travels_as_a_parameter(term, org):
    query, params = _built(term, org)
    assert query == _built("x", "y")[0]  # the statement's text does not depend on what was typed
    assert params == {"identifiers": [term], "search": term.strip().lower(), "org_prefix": org + "-"}
