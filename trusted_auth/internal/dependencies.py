"""Which exceptions mean "a dependency is down or slow", and the 503 they become.

A database or cache failure is a 503 ``service_unavailable``: nothing was committed (a token stays
retryable) and nothing the cache could not check is let through. An error the request's own
values caused (too long, too many, too deep for one statement) is a 400 (``input_error``).
"""

from __future__ import annotations

import logging
import sqlite3

from django.db import DatabaseError, DataError, InterfaceError, OperationalError

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, ServiceUnavailable, TrustedAuthError

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


# What the request's own values make the database refuse, and what the client is told. SQLite
# says it in its messages only (each of these is its generic SQLITE_ERROR or SQLITE_TOOBIG);
# PostgreSQL by SQLSTATE class: 22 "data exception", 54 "program limit exceeded".
_TOO_LONG = "holds a value longer than the database stores"
_TOO_MANY = "names too many values for one database query"
_TOO_COMPLEX = "is too complex for one database query"
_REFUSED = "holds a value the database refuses"
_SQLITE_INPUT_ERRORS = {
    "expression tree is too large": _TOO_COMPLEX,
    "parser stack overflow": _TOO_COMPLEX,
    "too many terms in compound select": _TOO_COMPLEX,
    "like or glob pattern too complex": _TOO_COMPLEX,
    "too many sql variables": _TOO_MANY,
    "too many arguments on function": _TOO_MANY,
    "string or blob too big": _TOO_LONG,
}
_SQLSTATES = {"22001": _TOO_LONG, "54023": _TOO_MANY}  # string too long, too many arguments
_SQLSTATE_CLASSES = {"22": _REFUSED, "54": _TOO_COMPLEX}


def _input_reason(error: BaseException) -> str | None:
    """Why the database refused the request's own values, or None (a failure of its own)."""
    if not isinstance(error, DatabaseError):
        return None
    driver_error = error.__cause__  # Django chains the driver's exception (its documented API)
    sqlstate = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _SQLSTATE_CLASSES:
        return _SQLSTATES.get(sqlstate, _SQLSTATE_CLASSES[sqlstate[:2]])
    if isinstance(error, DataError):
        return _REFUSED
    if not isinstance(driver_error, sqlite3.Error):
        return None
    message = str(error).lower()
    return next((why for text, why in _SQLITE_INPUT_ERRORS.items() if text in message), None)


def input_error(exc: BaseException, *, field: str | None = None) -> BadRequest | None:
    """The 400 a database error becomes when the request's own values caused it (a value too
    long, too many values or too deep an expression for one statement), naming ``field`` when
    the caller knows it; None for anything else (an outage is ``service_unavailable``'s)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None or isinstance(seen, TrustedAuthError):
            return None
        reason = _input_reason(seen)
        if reason is not None:
            return BadRequest(f"{field or 'the request'} {reason}")
        seen = seen.__cause__ or seen.__context__
    return None


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
            return None if _input_reason(seen) is not None else seen
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
