"""Paging for the admin lists of tables that grow to millions of rows (sessions, audit events).

Django's admin counts every row that matches a list's filters to number its pages; at a million
sessions that ``COUNT(*)`` costs more than the page itself. ``CappedCountPaginator`` counts at
most ``COUNT_CAP`` rows (one index range read, not the table), so the list shows at most that
many results' worth of pages: filter or search to reach older rows.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """A ``Paginator`` whose ``count`` stops at ``COUNT_CAP``."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if hasattr(object_list, "order_by"):
            return object_list.order_by()[:COUNT_CAP].count()
        return min(len(object_list), COUNT_CAP)
