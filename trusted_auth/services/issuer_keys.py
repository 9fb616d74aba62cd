"""Public keys of trusted issuers: JWKS sets with a shared cache, and configured PEM keys.

JWKS rules (DESIGN.md §4): a fetched set lives in the Django cache (shared across workers) and is
fresh for ``JWKS_CACHE_SECONDS``; an unknown ``kid`` triggers at most one refetch per profile per
``JWKS_REFETCH_COOLDOWN_SECONDS`` (the cooldown marker is a ``cache.add``, so it holds across
workers too); a failed refetch keeps serving the last good set for up to
``JWKS_STALE_IF_ERROR_SECONDS``; one fetch per profile is in flight per process at a time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.core.cache import caches

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import InvalidJwksUrl, JwksUnavailable, TokenRejected
from trusted_auth.internal.jwk import jwk_fits_algorithm, public_key_fits_algorithm
from trusted_auth.internal.jwks_http import FetchedJwks, fetch_jwks
from trusted_auth.models import TrustedAuthTokenProfile

from . import metrics

logger = logging.getLogger("trusted_auth.jwks")

_fetch_locks: dict[str, threading.Lock] = {}
_fetch_locks_guard = threading.Lock()


@dataclass(frozen=True)
class KeySet:
    url: str
    keys: list[dict[str, Any]]
    fetched_at: float


def _cache():
    return caches[trusted_auth_settings.CACHE_ALIAS]


def _keyset_cache_key(profile: TrustedAuthTokenProfile) -> str:
    return f"trusted_auth:jwks:{profile.profile_id}"


def _cooldown_cache_key(profile: TrustedAuthTokenProfile) -> str:
    return f"trusted_auth:jwks-refetch:{profile.profile_id}"


def _fetch_lock(profile_id: str) -> threading.Lock:
    with _fetch_locks_guard:
        return _fetch_locks.setdefault(profile_id, threading.Lock())


def cached_keyset(profile: TrustedAuthTokenProfile) -> KeySet | None:
    entry = _cache().get(_keyset_cache_key(profile))
    if not isinstance(entry, dict) or entry.get("url") != profile.jwks_url:
        return None
    return KeySet(url=entry["url"], keys=entry["keys"], fetched_at=entry["fetched_at"])


def fetch_counted(url: str) -> FetchedJwks:
    """``fetch_jwks``, counted in ``trusted_auth_jwks_fetches_total`` by outcome: every fetch
    we make (attests, ``jwks refresh``, the admin's check on save) goes through here."""
    try:
        fetched = fetch_jwks(url)
    except (JwksUnavailable, InvalidJwksUrl) as e:
        metrics.increment(metrics.JWKS_FETCHES, outcome="failure")
        logger.warning("JWKS fetch from %s failed: %s", url, e, extra={"jwks_url": url})
        raise
    metrics.increment(metrics.JWKS_FETCHES, outcome="success")
    return fetched


def refresh_keyset(profile: TrustedAuthTokenProfile) -> KeySet:
    """Fetch the profile's JWKS now and store it in the shared cache."""
    return store_keyset(profile, fetch_counted(profile.jwks_url).keys)


def store_keyset(profile: TrustedAuthTokenProfile, keys: list[dict[str, Any]]) -> KeySet:
    """Store keys just fetched from the profile's JWKS URL as its fresh key set (the admin
    fetches once on save to show the keys, and that fetch then serves attests too)."""
    keyset = KeySet(url=profile.jwks_url, keys=keys, fetched_at=time.time())
    lifetime = (
        trusted_auth_settings.JWKS_CACHE_SECONDS + trusted_auth_settings.JWKS_STALE_IF_ERROR_SECONDS
    )
    _cache().set(
        _keyset_cache_key(profile),
        {"url": keyset.url, "keys": keyset.keys, "fetched_at": keyset.fetched_at},
        timeout=lifetime,
    )
    return keyset


def _is_fresh(keyset: KeySet) -> bool:
    return time.time() - keyset.fetched_at < trusted_auth_settings.JWKS_CACHE_SECONDS


def _refetch(profile: TrustedAuthTokenProfile, known: KeySet | None) -> KeySet:
    with _fetch_lock(profile.profile_id):
        latest = cached_keyset(profile)
        if latest is not None and (known is None or latest.fetched_at > known.fetched_at):
            return latest  # another thread or worker refreshed while we waited
        try:
            return refresh_keyset(profile)
        except (JwksUnavailable, InvalidJwksUrl):
            if known is not None:
                logger.warning(
                    "serving the stale JWKS of profile %s, fetched %d s ago",
                    profile.profile_id,
                    time.time() - known.fetched_at,
                    extra={"profile_id": profile.profile_id, "jwks_url": profile.jwks_url},
                )
                return known  # stale-if-error; the cache entry's own timeout bounds it
            raise


def jwks_for(profile: TrustedAuthTokenProfile, kid: str | None) -> KeySet:
    """The key set to verify a token with ``kid``, refetching under the rules above."""
    keyset = cached_keyset(profile)
    if keyset is None:
        return _refetch(profile, None)
    has_kid = kid is None or any(k.get("kid") == kid for k in keyset.keys)
    if _is_fresh(keyset) and has_kid:
        metrics.increment(metrics.JWKS_CACHE_HITS)
        return keyset
    if not _cache().add(
        _cooldown_cache_key(profile), 1, timeout=trusted_auth_settings.JWKS_REFETCH_COOLDOWN_SECONDS
    ):
        metrics.increment(metrics.JWKS_CACHE_HITS)
        return keyset  # someone refetched within the cooldown: use what we have
    return _refetch(profile, keyset)


@lru_cache(maxsize=1024)
def _pyjwk(jwk_json: str, alg: str) -> jwt.PyJWK:
    return jwt.PyJWK(json.loads(jwk_json), algorithm=alg)


def jwks_candidates(profile: TrustedAuthTokenProfile, alg: str, kid: str | None) -> list[Any]:
    """The verification keys a token with this ``alg``/``kid`` may be checked against."""
    keyset = jwks_for(profile, kid)
    if kid is not None:
        matching = [k for k in keyset.keys if k.get("kid") == kid]
        if not matching:
            raise TokenRejected(f"no key with kid {kid[:64]!r} in the issuer's JWKS")
    else:
        matching = list(keyset.keys)
    fitting = [k for k in matching if jwk_fits_algorithm(k, alg)]
    if not fitting:
        raise TokenRejected(f"no key in the issuer's JWKS fits algorithm {alg}")
    if kid is None and len(fitting) != 1:
        raise TokenRejected("token has no kid and the JWKS has more than one eligible key")
    try:
        return [_pyjwk(json.dumps(k, sort_keys=True), alg) for k in fitting]
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as e:
        raise TokenRejected(f"the issuer's key could not be loaded: {e}") from e


@lru_cache(maxsize=256)
def load_public_pem(pem: str) -> Any:
    """Parse a PEM public key once per process. Raises ``ValueError`` on anything else."""
    return serialization.load_pem_public_key(pem.encode())


def pem_candidates(profile: TrustedAuthTokenProfile, alg: str) -> list[Any]:
    keys = []
    for row in profile.pem_keys.all():
        try:
            key = load_public_pem(row.public_key_pem)
        except (ValueError, TypeError):
            continue
        if public_key_fits_algorithm(key, alg):
            keys.append(key)
    if not keys:
        raise TokenRejected(f"no configured PEM key fits algorithm {alg}")
    return keys


def verification_keys(profile: TrustedAuthTokenProfile, alg: str, kid: str | None) -> list[Any]:
    if profile.public_key_type == TrustedAuthTokenProfile.KeyType.PEM:
        return pem_candidates(profile, alg)
    return jwks_candidates(profile, alg, kid)
