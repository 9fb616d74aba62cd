"""A movable clock for the time-based rules (JWKS freshness, refetch cooldowns, stale-if-error,
key publish and retire windows), so tests advance time instead of sleeping."""

from __future__ import annotations

import time
import types
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone

__all__ = ["MovableClock"]

# Modules whose clock reads are moved: they call ``time.time()`` or ``timezone.now()`` through
# their module-level ``time`` / ``timezone`` names.
_TIME_MODULES = (
    "trusted_auth.issuers.issuer_keys",
    "django.core.cache.backends.base",  # when a cache entry expires (set, add)
    "django.core.cache.backends.locmem",  # whether it has (get)
)
_TIMEZONE_MODULES = ("trusted_auth.sessions.signing_keys",)


class MovableClock:
    """Real time plus an offset that ``advance()`` moves forward. With a shared cache (Redis,
    Memcached), whose expiry no test can move, ``advance()`` sleeps for real instead."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        self.movable = all(_is_locmem(alias["BACKEND"]) for alias in settings.CACHES.values())
        if not self.movable:
            return
        shifted_time = types.SimpleNamespace(
            time=self.time, monotonic=time.monotonic, sleep=time.sleep
        )
        shifted_timezone = types.SimpleNamespace(now=self.now)
        for module in _TIME_MODULES:
            monkeypatch.setattr(f"{module}.time", shifted_time)
        for module in _TIMEZONE_MODULES:
            monkeypatch.setattr(f"{module}.timezone", shifted_timezone)

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return timezone.now() + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        if self.movable:
            self.offset += seconds
        else:
            time.sleep(seconds)


def _is_locmem(backend: str) -> bool:
    return backend == f"{LocMemCache.__module__}.{LocMemCache.__name__}"
