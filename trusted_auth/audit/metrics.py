"""Prometheus-style counters kept in the Django cache, so every worker counts into one place.

Why the cache and not ``prometheus_client``'s registry: a deployment runs several workers, and a
scrape reaches one of them. ``prometheus_client`` solves that only in its multiprocess mode (an
environment variable set before import, a directory wiped at each start, hooks for dead
workers), which a reusable app cannot impose. ``trusted_auth`` already needs a shared cache
for replay markers, JWKS sets and throttles; counters there are shared the same way, and with
Redis or Memcached each increment is atomic. Counters restart from zero when the cache is
flushed, which Prometheus' ``rate()`` and ``increase()`` treat as a counter reset.

Counting adds no round trip to the work being counted: inside a request, increments are kept in
the request's thread and sent together when it ends (``request_finished``, after the response
is written; ``internal.counters.incr_many``). A scrape therefore sees
every finished request of every worker; outside a request (commands, tests) an increment is
sent at once.

Every label has a closed set of values (unknown values are counted as ``other``), so the set
of series is fixed: it can be read back with one ``get_many`` and cannot be blown up by input.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.signals import request_finished, request_started

from trusted_auth.conf import DEFAULTS, trusted_auth_settings
from trusted_auth.internal.counters import incr_many

logger = logging.getLogger("trusted_auth")

OTHER = "other"
ERROR_TYPES = (
    "",
    "bad_request",
    "invalid_trusted_auth_token",
    "trusted_token_profile_not_found",
    "jwt_invalid_issuer",
    "jwt_invalid_audience",
    "jwt_invalid_claims",
    "trusted_token_replayed",
    "user_not_found",
    "member_not_found",
    "organization_not_found",
    "session_not_found",
    "session_user_mismatch",
    "too_many_session_arguments",
    "invalid_session_duration_minutes",
    "reserved_claims_in_custom_claims",
    "custom_claims_too_large",
    "email_jit_provisioning_not_allowed",
    "organization_mismatch",
    "invalid_jwks_url",
    "jwks_unavailable",
    "too_many_requests",
    OTHER,
)


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


_pending = threading.local()


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
