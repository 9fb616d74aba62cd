"""Prometheus-style counters in the shared Django cache, so every worker counts into one place
(``prometheus_client`` would need a multiprocess mode a reusable app cannot impose). Counting is
best effort, sent when the request ends; each label has a closed set of values (else ``other``).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

from asgiref.local import Local
from django.core.cache import caches
from django.core.signals import request_finished, request_started

from trusted_auth.conf import DEFAULTS, trusted_auth_settings
from trusted_auth.error_catalog import ERRORS
from trusted_auth.internal.counters import incr_many

logger = logging.getLogger("trusted_auth")

OTHER = "other"
# Every error type the catalog documents, and "" for a success: a new error type is counted by
# name from the day it is catalogued (tests/test_error_reference.py keeps the catalog complete).
ERROR_TYPES = ("", *ERRORS, OTHER)


@dataclass(frozen=True)
class Counter:
    name: str
    help: str
    labels: dict[str, tuple[str, ...]]

    def series(self) -> list[tuple[str, ...]]:
        return list(itertools.product(*self.labels.values()))


ATTESTS = Counter(
    "trusted_auth_attests_total",
    "Attest requests (consumer and B2B) by outcome and error type.",
    {"outcome": ("success", "failure", "throttled"), "error_type": ERROR_TYPES},
)
JWKS_FETCHES = Counter(
    "trusted_auth_jwks_fetches_total",
    "Fetches of an issuer's JWKS by outcome.",
    {"outcome": ("success", "failure")},
)
JWKS_CACHE_HITS = Counter(
    "trusted_auth_jwks_cache_hits_total",
    "Tokens checked against a cached JWKS without fetching it.",
    {},
)
THROTTLED = Counter(
    "trusted_auth_throttled_total",
    "Requests refused with 429 too_many_requests, by throttle scope.",
    {"scope": (*DEFAULTS["THROTTLE_RATES"], OTHER)},
)
COUNTERS = (ATTESTS, JWKS_FETCHES, JWKS_CACHE_HITS, THROTTLED)


def _key(counter: Counter, values: tuple[str, ...]) -> str:
    return ":".join(("trusted_auth", "metrics", counter.name, *values))


# The pending increments of the request being served. Under ASGI one thread interleaves
# several requests: a threading.local would mix them up.
_pending = Local()


def increment(counter: Counter, **labels: str) -> None:
    """Add one to ``counter`` for these label values (sent when the request ends). Never raises:
    a cache outage must not turn the request being counted into an error."""
    values = tuple(
        labels[name] if labels[name] in allowed else OTHER
        for name, allowed in counter.labels.items()
    )
    key = _key(counter, values)
    counts = getattr(_pending, "counts", None)
    if counts is not None:
        counts[key] = counts.get(key, 0) + 1
        return
    _send({key: 1})


def _send(counts: dict[str, int]) -> None:
    try:
        incr_many(caches[trusted_auth_settings.CACHE_ALIAS], counts)
    except Exception:  # noqa: BLE001 - counting is best effort, the request is not
        logger.warning("trusted_auth: could not count %s", ", ".join(counts), exc_info=True)


def flush() -> None:
    """Send the current request's pending increments now (``request_finished`` does it)."""
    counts = getattr(_pending, "counts", None)
    if counts:
        _pending.counts = {}
        _send(counts)


def _request_started(**kwargs: Any) -> None:
    flush()  # a previous request of this thread that never finished still counts
    _pending.counts = {}


def _request_finished(**kwargs: Any) -> None:
    flush()
    _pending.counts = None


def connect_signals() -> None:
    request_started.connect(_request_started, dispatch_uid="trusted_auth.metrics.started")
    request_finished.connect(_request_finished, dispatch_uid="trusted_auth.metrics.finished")


def _labels(counter: Counter, values: tuple[str, ...]) -> str:
    if not values:
        return ""
    pairs = ",".join(
        f'{name}="{value}"' for name, value in zip(counter.labels, values, strict=True)
    )
    return "{" + pairs + "}"


def exposition() -> str:
    """Every counter in the Prometheus text format (version 0.0.4). Series never counted are left
    out, except a counter without labels, which is always shown."""
    cache = caches[trusted_auth_settings.CACHE_ALIAS]
    lines: list[str] = []
    for counter in COUNTERS:
        series = counter.series()
        counts = cache.get_many([_key(counter, values) for values in series])
        lines += [f"# HELP {counter.name} {counter.help}", f"# TYPE {counter.name} counter"]
        for values in series:
            count = counts.get(_key(counter, values))
            if count is None and counter.labels:
                continue
            lines.append(f"{counter.name}{_labels(counter, values)} {int(count or 0)}")
    return "\n".join(lines) + "\n"
