"""One row by a unique column, read with plain SQL through ``Model.objects.raw()``: the hot
reads (authenticate's session, a returning user's link) without the ORM compiling a query
on every call. ``raw()`` still applies each field's database converters."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def row(model: type[M], sql: str, params: list[Any]) -> M | None:
    """The first ``model`` that ``sql`` (a SELECT of its columns) returns, or None."""
    return next(iter(model._default_manager.raw(sql, params)), None)


def row_by(model: type[M], value: Any, column: str = "") -> M | None:
    """``model._default_manager.filter(<column>=value).first()`` for a unique ``column``, by
    default the primary key's."""
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(column or str(model._meta.pk.column))
    return row(model, f"SELECT * FROM {table} WHERE {column} = %s", [value])


def referenced(model: type[M], pk: Any) -> M:
    """The ``model`` a foreign key names (``ObjectDoesNotExist`` when it is gone)."""
    found = row_by(model, pk)
    if found is None:
        raise ObjectDoesNotExist(f"no {model.__name__} {pk!r}")
    return found
