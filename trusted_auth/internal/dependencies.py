"""Which exceptions mean "a dependency is down or slow", and the 503 they become.

Failure mode, per dependency (docs/operations.md "Failure modes"):

- Database (``OperationalError``/``InterfaceError``: connection refused or lost, server
  restarting, SQLite ``database is locked`` past its busy timeout): the request is refused with
  503 ``service_unavailable``; nothing was committed, so a token is still retryable.
- Cache (redis-py's ``ConnectionError``/``TimeoutError``, or the socket errors other cache
  clients raise): 503 as well. Throttles, replay pre-checks and JWKS cooldowns read the cache; a
  request none of them could check is refused, never let through (fail closed).

redis is an optional dependency: its exceptions are only mapped when it is installed.
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
    """``exc`` or the error it was raised from (a few links deep) that is a dependency error.

    A domain error (``TrustedAuthError``) already says what the client sees — a JWKS host that
    timed out is ``jwks_unavailable``, not a database outage — so it is never re-read here.
    """
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
