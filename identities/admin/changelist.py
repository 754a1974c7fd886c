"""The changelist pieces that must not assume a SQL queryset: ordering and a paginator that counts little."""

from __future__ import annotations

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property

# Beyond this many matches a filtered list says "10000+" instead of scanning on to count them all.
COUNT_CAP = 10_000


class NodeChangeList(ChangeList):
    def _get_deterministic_ordering(self, ordering):
        # Django appends "-pk" unless it finds a unique field; identifiers are unique, and NodeQuerySet.order_by
        # always ends with the identifier, so nothing needs adding here.
        return list(ordering)

    @property
    def count_capped(self) -> bool:
        return getattr(self.paginator, "capped", False)


class CappedPaginator(Paginator):
    """One count query per page, stopped at COUNT_CAP for filtered lists (unfiltered counts are free in Neo4j)."""

    @cached_property
    def count(self) -> int:
        return self.object_list.count(cap=COUNT_CAP + 1)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP
