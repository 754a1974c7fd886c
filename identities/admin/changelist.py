"""The changelist pieces that must not assume a SQL queryset: ordering and a paginator that counts little."""

from __future__ import annotations

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from .queryset import NodeQuerySet

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
    """Counts at most COUNT_CAP matches. A filtered list is counted and its page fetched in one query (the page
    number comes from the request); an unfiltered one is counted from Neo4j's count store, which costs nothing."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, page_number=1):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.page_number = max(page_number, 1)

    @cached_property
    def count(self) -> int:
        nodes: NodeQuerySet = self.object_list  # type: ignore[assignment]  # the admin's queryset for Neo4j nodes
        return nodes.count_with_window((self.page_number - 1) * self.per_page, self.per_page, COUNT_CAP + 1)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP
