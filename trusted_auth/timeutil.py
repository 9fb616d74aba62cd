"""Timestamps on the wire: RFC 3339 in UTC with a ``Z``."""

from __future__ import annotations

import datetime as dt


def rfc3339(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
