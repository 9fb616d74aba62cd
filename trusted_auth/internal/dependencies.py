"""Which exceptions mean "a dependency is down or slow", and the 503 they become.

A database or cache failure refuses the request with 503 ``service_unavailable``: nothing was
committed, so a token stays retryable, and what the cache could not check is never let through.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import ServiceUnavailable, TrustedAuthError

logger = logging.getLogger("trusted_auth")

DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:  # redis is optional (the `scale` extra)
    _REDIS_ERRORS: tuple[type[BaseException], ...] = ()
else:
    _REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError)

# Builtin ConnectionError/TimeoutError: what pymemcache and raw sockets raise.
CACHE_ERRORS: tuple[type[BaseException], ...] = (*_REDIS_ERRORS, ConnectionError, TimeoutError)

DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = DATABASE_ERRORS + CACHE_ERRORS


def _dependency_cause(exc: BaseException) -> BaseException | None:
    """``exc`` or the error it was raised from (a few links deep) that is a dependency error;
    a ``TrustedAuthError`` already says what the client sees, so it is never re-read."""
    if isinstance(exc, TrustedAuthError):
        return None
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, DEPENDENCY_ERRORS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_dependency_error(exc: BaseException) -> bool:
    """True when ``exc`` (or the error it was raised from) says a database or cache failed or
    timed out — not a bug of ours."""
    return _dependency_cause(exc) is not None


def service_unavailable(exc: BaseException) -> ServiceUnavailable:
    """The 503 a dependency error becomes, logged once here with the original error."""
    which = "database" if isinstance(_dependency_cause(exc), DATABASE_ERRORS) else "cache"
    logger.warning(
        "trusted_auth: the %s is unavailable (%s): answering 503",
        which,
        type(exc).__name__,
        exc_info=exc,
    )
    return ServiceUnavailable(
        f"the {which} is unavailable; retry later",
        retry_after=int(trusted_auth_settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
    )
