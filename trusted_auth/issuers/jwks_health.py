"""Each JWKS profile's fetch health (last success, last failure and why) for the admin overview,
a small record in the shared cache. Advisory: never consulted to accept or refuse a token; a
cache outage loses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import caches

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.models import TrustedAuthTokenProfile

_MAX_ERROR = 500


@dataclass(frozen=True)
class JwksHealth:
    last_success_at: float | None = None
    last_failure_at: float | None = None
    last_error: str = ""

    @property
    def failing(self) -> bool:
        """The latest fetch failed."""
        return self.last_failure_at is not None and (
            self.last_success_at is None or self.last_failure_at > self.last_success_at
        )


def _key(profile_id: str) -> str:
    return f"trusted_auth:jwks-health:{profile_id}"


def _lifetime() -> int:
    return int(
        trusted_auth_settings.JWKS_CACHE_SECONDS + trusted_auth_settings.JWKS_STALE_IF_ERROR_SECONDS
    )


def _update(profile: TrustedAuthTokenProfile, **changes: object) -> None:
    cache = caches[trusted_auth_settings.CACHE_ALIAS]
    try:
        entry = cache.get(_key(profile.profile_id))
        record = dict(entry) if isinstance(entry, dict) else {}
        record.update(changes)
        cache.set(_key(profile.profile_id), record, timeout=_lifetime())
    except Exception:  # noqa: BLE001 - a dashboard record must never fail a fetch or an attest
        return


def record_success(profile: TrustedAuthTokenProfile) -> None:
    _update(profile, last_success_at=time.time())


def record_failure(profile: TrustedAuthTokenProfile, error: str) -> None:
    _update(profile, last_failure_at=time.time(), last_error=error[:_MAX_ERROR])


def health_of(profile_ids: Iterable[str]) -> dict[str, JwksHealth]:
    """The record of each profile id, in one cache round trip (``get_many``)."""
    ids = list(profile_ids)
    try:
        entries = caches[trusted_auth_settings.CACHE_ALIAS].get_many([_key(i) for i in ids])
    except Exception:  # noqa: BLE001 - see the module docstring
        entries = {}
    result = {}
    for profile_id in ids:
        entry = entries.get(_key(profile_id))
        entry = entry if isinstance(entry, dict) else {}
        result[profile_id] = JwksHealth(
            last_success_at=entry.get("last_success_at"),
            last_failure_at=entry.get("last_failure_at"),
            last_error=str(entry.get("last_error", "")),
        )
    return result
