"""Paging for admin lists of tables that grow to millions of rows (sessions, audit events): the
count stops at ``COUNT_CAP`` rows instead of counting every match."""

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
