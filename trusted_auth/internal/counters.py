"""Counters in a Django cache in as few round trips as the backend allows.

Django's cache API needs two calls to count from nothing (``add`` then ``incr``), and its Redis
backend makes ``incr`` two commands (``EXISTS``, ``INCRBY``): a throttle scope cost three round
trips to Redis. On Django's ``RedisCache`` these functions send one pipeline (``MULTI``/``EXEC``,
so a counter never exists without its expiry); on any other backend ``incr`` first and ``add``
only when the counter is missing (one call per counter while it lives; local memory makes no
round trip at all).

Failure mode: errors of the cache (Redis down) propagate. A throttle that cannot count must not
allow (the API answers 503); metrics catch them themselves, counting is best effort.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache


def _redis_client(cache: BaseCache) -> Any | None:
    if not isinstance(cache, RedisCache):
        return None
    # Django's RedisCacheClient: get_client(write=True) is the primary's redis.Redis. Its
    # serializer stores ints as plain integers, so INCRBY and a later get() agree.
    return cache._cache.get_client(None, write=True)


def incr_with_expiry(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to counter ``key`` (created at 1 when missing, expiring ``timeout`` seconds after
    its last increment) and return the new count."""
    client = _redis_client(cache)
    if client is not None:
        full_key = cache.make_and_validate_key(key)
        pipeline = client.pipeline()
        pipeline.incr(full_key)
        pipeline.expire(full_key, timeout)
        return int(pipeline.execute()[0])
    try:
        return cache.incr(key)
    except ValueError:  # missing (or expired): this call opens it
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another worker opened it between the two calls


def incr_many(cache: BaseCache, deltas: dict[str, int]) -> None:
    """Add ``deltas[key]`` to each counter (created when missing, no expiry): one round trip on
    Redis, one ``incr`` (``add`` when missing) per counter elsewhere."""
    if not deltas:
        return
    client = _redis_client(cache)
    if client is not None:
        pipeline = client.pipeline(transaction=False)
        for key, delta in deltas.items():
            pipeline.incrby(cache.make_and_validate_key(key), delta)
        pipeline.execute()
        return
    for key, delta in deltas.items():
        try:
            cache.incr(key, delta)
        except ValueError:
            if not cache.add(key, delta, timeout=None):
                cache.incr(key, delta)
