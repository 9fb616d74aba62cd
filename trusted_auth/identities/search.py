"""Stytch-style search (a ``query`` of ``{operator, operands}``) with cursor pagination.

An unknown filter is refused, never ignored: silently widening a search is how an export leaks rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import DatabaseError
from django.db.models import Model, Q, QuerySet

from trusted_auth.errors import BadRequest
from trusted_auth.internal.dependencies import input_error

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OPERANDS = 50
MAX_FILTER_VALUES = 1000
_CURSOR_SALT = "trusted_auth.search.cursor"

Filter = Callable[[Any], Q]


@dataclass
class Page:
    """One page of results: the rows, how many match in all, and the cursor of the next page."""

    results: list[Any]
    total: int
    next_cursor: str | None


def string_list(name: str, value: Any) -> list[str]:
    """A ``filter_value`` that must be a non-empty list of strings."""
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_FILTER_VALUES
        or not all(isinstance(item, str) and "\x00" not in item for item in value)
    ):
        raise BadRequest(f"filter {name}: filter_value must be a non-empty list of strings")
    return value


def string_value(name: str, value: Any) -> str:
    """A ``filter_value`` that must be one non-empty string."""
    if not isinstance(value, str) or not value or "\x00" in value or len(value) > 256:
        raise BadRequest(f"filter {name}: filter_value must be a non-empty string")
    return value


def any_json_string(alias: str, values: list[str]) -> Q:
    """Rows whose JSON list of strings, cast to text as ``alias``, holds one of ``values``: one
    regular expression (an OR of 1,000 LIKEs nests past SQLite's limit) matching a whole element
    in its JSON spelling, with ``\\u`` escapes (SQLite) or without (PostgreSQL)."""
    spellings = dict.fromkeys(
        re.escape(json.dumps(value, ensure_ascii=ascii_only)[1:-1])
        for value in values
        for ascii_only in (True, False)
    )
    pattern = r'[\[,]\s*"(?:' + "|".join(spellings) + r')"\s*[,\]]'
    return Q(**{f"{alias}__regex": pattern})


def query_filter(query: Any, filters: Mapping[str, Filter]) -> Q:
    """The ``Q`` of a Stytch search ``query`` (``None`` or no operands: everything)."""
    if query is None:
        return Q()
    if not isinstance(query, dict):
        raise BadRequest("query must be an object with operator and operands")
    operator = query.get("operator")
    if operator not in ("AND", "OR"):
        raise BadRequest("query.operator must be AND or OR")
    operands = query.get("operands") or []
    if not isinstance(operands, list) or len(operands) > MAX_OPERANDS:
        raise BadRequest(f"query.operands must be a list of at most {MAX_OPERANDS} filters")
    combined = Q()
    for operand in operands:
        name = operand.get("filter_name") if isinstance(operand, dict) else None
        if not isinstance(name, str) or name not in filters:
            raise BadRequest(
                f"unsupported filter_name {str(name)[:64]!r}; supported: {', '.join(filters)}"
            )
        condition = filters[name](operand.get("filter_value"))
        combined = (combined & condition) if operator == "AND" else (combined | condition)
    return combined


def paginate(queryset: QuerySet[Model], *, cursor: Any, limit: Any) -> Page:
    """A page of ``queryset`` in primary-key order after ``cursor`` (keyset pagination). The
    cursor is signed, so a client cannot forge one."""
    size = DEFAULT_LIMIT if limit is None else limit
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    rows = queryset.order_by("pk")
    if cursor is not None:
        if not isinstance(cursor, str):
            raise BadRequest("cursor must be the next_cursor of a previous search")
        try:
            after = int(signing.loads(cursor, salt=_CURSOR_SALT))
        except (signing.BadSignature, TypeError, ValueError) as e:
            raise BadRequest("cursor must be the next_cursor of a previous search") from e
        rows = rows.filter(pk__gt=after)
    try:
        total = queryset.count()
        page = list(rows[: size + 1])
    except DatabaseError as e:
        # A query the database refuses for its size (too many values for one statement) is
        # the query's fault, named as such; any other database error goes on as it is.
        client_error = input_error(e, field="query")
        if client_error is None:
            raise
        raise client_error from e
    more = len(page) > size
    page = page[:size]
    next_cursor = signing.dumps(page[-1].pk, salt=_CURSOR_SALT) if more else None
    return Page(results=page, total=total, next_cursor=next_cursor)
