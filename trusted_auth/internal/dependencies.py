"""Which exceptions mean "a dependency failed" (the database, the cache), not "a bug".

Such a failure decided nothing, so nothing may be accepted: callers answer 503
``service_unavailable`` with ``Retry-After`` and keep nothing half-done.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

try:  # redis-py is optional: only deployments with a Redis cache have it.
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
except ImportError:  # pragma: no cover - depends on the installed extras
    _REDIS_ERRORS = ()

DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    *_REDIS_ERRORS,
)


def is_dependency_failure(error: BaseException) -> bool:
    """Whether ``error`` (or the error it was raised from) is a database or cache outage."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, DEPENDENCY_ERRORS):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False
