"""Counters in a Django cache, through its public API (``incr``, ``add``, ``touch``).

Failure mode: errors of the cache (Redis down) propagate. A throttle that cannot count must not
allow (the API answers 503); metrics catch them themselves, counting is best effort.
"""

from __future__ import annotations

from django.core.cache.backends.base import BaseCache


def incr_with_expiry(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to counter ``key`` (created at 1 when missing, expiring ``timeout`` seconds after
    it was created) and return the new count."""
    try:
        count = cache.incr(key)
    except ValueError:  # missing (or expired): this call opens it
        if cache.add(key, 1, timeout=timeout):
            return 1
        count = cache.incr(key)  # another worker opened it between the two calls
    if count == 1:
        # Opened by ``add``, a counter is at 2 after its first ``incr``. At 1 it expired between
        # the backend's existence check and its increment, which made a new one without an
        # expiry (Redis' INCR does): give it one, so no counter lives forever.
        cache.touch(key, timeout)
    return count


def incr_many(cache: BaseCache, deltas: dict[str, int]) -> None:
    """Add ``deltas[key]`` to each counter (created when missing, no expiry): one ``incr`` per
    counter, and an ``add`` when it is missing."""
    for key, delta in deltas.items():
        try:
            cache.incr(key, delta)
        except ValueError:
            if not cache.add(key, delta, timeout=None):
                cache.incr(key, delta)
