"""The admin adapter's queryset answers what Django's changelist asks, in parameterised Cypher (docs/facts.md)."""

import pytest
from django.core.exceptions import FieldError
from django.db.models import Q

from identities.admin.changelist import COUNT_CAP, CappedPaginator
from identities.admin.queryset import NodeQuerySet
from identities.nodes import COMPUTE, USER, UserIdentity

from .identity_support import seed_plain


@pytest.fixture
def people():
    seed_plain(
        "user",
        [
            {
                "identifier": f"p{i}",
                "email": f"p{i}@lab.org" if i % 2 else None,
                "scopes": ["acme-c-p"] if i < 3 else [],
            }
            for i in range(6)
        ],
    )
    seed_plain("compute", [{"identifier": "p0"}])


def ids(rows):
    return [row.identifier for row in rows]


def test_what_the_changelist_sends_is_understood(people):
    qs = NodeQuerySet(USER)
    assert qs.filter(Q()) is qs  # the changelist always applies an empty Q of leftover lookups
    assert ids(qs.order_by("-pk")) == ["p5", "p4", "p3", "p2", "p1", "p0"]
    assert ids(qs.order_by("email", "-pk")) == ["p1", "p3", "p5", "p4", "p2", "p0"]  # nulls last ascending
    assert ids(qs.filter(pk__in=["p2", "p4", "nope"])) == ["p2", "p4"]
    assert qs.get(pk="p3").email == "p3@lab.org" and isinstance(qs.get(pk="p3"), UserIdentity)
    with pytest.raises(UserIdentity.DoesNotExist):
        qs.get(pk="nope")
    assert qs.count() == 6 and len(qs) == 6 and qs.exists()
    assert ids(qs[2:4]) == ["p2", "p3"] and qs[5].identifier == "p5"
    assert qs.query.order_by == () and qs.query.select_related is False
    assert qs.distinct() is qs and qs.select_related() is qs
    assert ids(NodeQuerySet(COMPUTE)) == ["p0"]


def test_search_filters_and_identifiers(people):
    qs = NodeQuerySet(USER)
    assert ids(qs.searching("P3@LAB")) == ["p3"]
    assert ids(qs.with_org("acme")) == ["p0", "p1", "p2"]
    assert qs.with_org("acme").searching("p2").identifiers() == ["p2"]
    assert qs.none().count() == 0 and list(qs.none()) == []


@pytest.mark.parametrize(
    "bad",
    [
        lambda qs: qs.filter(Q(email="x")),
        lambda qs: qs.filter(hashed_key__startswith="$2b"),
        lambda qs: qs.order_by("hashed_key"),
        lambda qs: qs.order_by("n.identifier; MATCH (m) DETACH DELETE m"),
    ],
)
def test_anything_else_is_refused_with_field_error(people, bad):
    with pytest.raises(FieldError):
        bad(NodeQuerySet(USER))


def test_paginator_counts_filtered_lists_with_the_page_in_one_query(people, monkeypatch):
    from identities import store

    sent = []
    real = store.cypher
    monkeypatch.setattr(store, "cypher", lambda q, p=None: sent.append(q) or real(q, p))
    paginator = CappedPaginator(NodeQuerySet(USER).searching("p"), 2, page_number=2)
    assert paginator.count == 6 and ids(paginator.page(2).object_list) == ["p2", "p3"]
    assert len(sent) == 1 and "collect(n)" in sent[0]
    assert not paginator.capped and COUNT_CAP == 10_000
