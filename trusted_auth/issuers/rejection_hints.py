"""Rejection messages that say what happened and what to do: when a token expired (in UTC and
relative to now), and how its ``iss`` differs from the profile's (trailing slash, scheme, case).
Built only from claims whose signature already verified.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_MAX_SHOWN = 200


def utc(timestamp: float) -> str:
    """``2026-12-01T10:00:00Z``; out-of-range values are shown as the raw number."""
    try:
        moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return repr(timestamp)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """A rough human length: ``45 seconds``, ``5 minutes``, ``3 hours``, ``12 days``."""
    seconds = abs(seconds)
    for unit, size, up_to in (
        ("second", 1, 90),
        ("minute", 60, 90 * 60),
        ("hour", 3600, 48 * 3600),
        ("day", 86400, math.inf),
    ):
        if seconds < up_to:
            count = round(seconds / size)
            return f"{count} {unit}" + ("" if count == 1 else "s")
    raise AssertionError("unreachable")


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def expired(claims: dict[str, Any], now: float, leeway: int) -> str:
    exp = _number(claims, "exp")
    if exp is None:
        return "token has expired"
    return (
        f"token expired at {utc(exp)}, {duration(now - exp)} ago "
        f"(now {utc(now)}, leeway {leeway} s); mint a new one"
    )


def not_yet_valid(claims: dict[str, Any], now: float, leeway: int) -> str:
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + leeway:
        return (
            f"token is not yet valid (nbf): valid from {utc(nbf)}, in {duration(nbf - now)} "
            f"(now {utc(now)}, leeway {leeway} s); check the issuer's clock"
        )
    iat = _number(claims, "iat")
    if iat is not None:
        return (
            f"token is not yet valid (iat): issued at {utc(iat)}, {duration(iat - now)} in the "
            f"future (now {utc(now)}, leeway {leeway} s); check the issuer's clock"
        )
    return "token is not yet valid"


def _differences(
    expected: str, actual: str, ours: str = "issuer", theirs: str = "iss"
) -> list[str]:
    """How ``actual`` differs from ``expected`` if only by slash, scheme and case, else [].
    ``ours`` names the profile's field, ``theirs`` the token's claim."""
    found = []
    if expected.endswith("/") != actual.endswith("/"):
        found.append(
            f"a trailing slash (the profile's {ours} has one, the token's {theirs} does not)"
            if expected.endswith("/")
            else f"a trailing slash (the token's {theirs} has one, the profile's {ours} does not)"
        )
    e, a = expected.rstrip("/"), actual.rstrip("/")
    e_scheme, a_scheme = _SCHEME.match(e), _SCHEME.match(a)
    if e_scheme and a_scheme and e_scheme.group().lower() != a_scheme.group().lower():
        found.append(
            f"the scheme ({e_scheme.group()[:-3]} in the profile, {a_scheme.group()[:-3]} "
            "in the token)"
        )
        e, a = e[e_scheme.end() :], a[a_scheme.end() :]
    if e != a:
        if e.lower() != a.lower():
            return []
        found.append("letter case")
    return found


def issuer_mismatch(expected: str, claims: dict[str, Any]) -> str:
    actual = claims.get("iss")
    if not isinstance(actual, str):
        return "token issuer does not match the profile"
    message = (
        f"token issuer {actual[:_MAX_SHOWN]!r} does not match the profile's "
        f"{expected[:_MAX_SHOWN]!r}"
    )
    differences = _differences(expected, actual)
    if differences:
        message += (
            f"; they differ only by {' and '.join(differences)}: issuers are compared exactly, "
            "so set the profile's issuer to the token's iss"
        )
    return message


_MAX_SHOWN_AUDIENCES = 5


def _shown_string(value: str) -> str:
    return repr(value[:_MAX_SHOWN]) + ("…" if len(value) > _MAX_SHOWN else "")


def audience_mismatch(expected: str, claims: dict[str, Any]) -> str:
    """The token's ``aud`` (at most five values, each cut at 200 characters) beside the
    profile's audience, and a hint when they differ only by slash, scheme or case."""
    actual = claims.get("aud")
    if isinstance(actual, str):
        shown = _shown_string(actual)
    elif isinstance(actual, list) and all(isinstance(item, str) for item in actual):
        items = [json.dumps(item[:_MAX_SHOWN]) for item in actual[:_MAX_SHOWN_AUDIENCES]]
        if len(actual) > _MAX_SHOWN_AUDIENCES:
            items.append(f"… {len(actual) - _MAX_SHOWN_AUDIENCES} more")
        shown = f"[{', '.join(items)}]"
    else:
        return "token audience (aud) must be a string or a list of strings"
    message = f"token audience {shown} does not include the profile's {_shown_string(expected)}"
    candidates = [actual] if isinstance(actual, str) else actual
    differences = next(
        (
            found
            for item in candidates
            if (found := _differences(expected, item, "audience", "aud"))
        ),
        [],
    )
    if differences:
        return message + (
            f"; they differ only by {' and '.join(differences)}: audiences are compared "
            "exactly, so set the profile's audience to the token's aud"
        )
    return message + (
        "; set the profile's audience to the token's aud, or have the issuer mint tokens for "
        "the profile's audience"
    )
