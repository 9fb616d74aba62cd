"""Public keys of trusted issuers: JWKS sets in the shared cache (``CACHE_ALIAS``), and PEM keys.

Per profile: an unknown ``kid`` refetches at most once per cooldown, one fetch is in flight at a
time, and a failed fetch answers 503 ``jwks_unavailable`` until the cooldown ends (or serves the
last good set, stale-if-error). A cache outage answers 503, never an unchecked accept.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.core.cache import caches

from trusted_auth.audit import metrics
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import InvalidJwksUrl, JwksUnavailable, TokenRejected
from trusted_auth.internal.jwk import jwk_fits_algorithm, public_key_fits_algorithm
from trusted_auth.issuers import jwks_health
from trusted_auth.issuers.jwks_http import FetchedJwks, fetch_jwks
from trusted_auth.models import TrustedAuthTokenProfile

# At most this many JWKS keys are tried per token: bounded work per attest.
MAX_CANDIDATE_KEYS = 3
# How often an attest waiting for another worker's fetch looks at the cache again.
_WAIT_POLL_SECONDS = 0.05
logger = logging.getLogger("trusted_auth.jwks")


@dataclass(frozen=True)
class KeySet:
    url: str
    keys: list[dict[str, Any]]
    fetched_at: float


def _cache():
    return caches[trusted_auth_settings.CACHE_ALIAS]


def _cache_key(kind: str, profile: TrustedAuthTokenProfile) -> str:
    """``kind``: ``jwks`` (the key set), ``jwks-refetch`` (the cooldown), ``jwks-failed`` (a
    remembered failure) or ``jwks-fetching`` (the fetch lock)."""
    return f"trusted_auth:{kind}:{profile.profile_id}"


def _remembered_failure(profile: TrustedAuthTokenProfile) -> JwksUnavailable | None:
    """The 503 to answer while a failed fetch of this profile's JWKS is remembered."""
    entry = _cache().get(_cache_key("jwks-failed", profile))
    if not isinstance(entry, dict) or entry.get("url") != profile.jwks_url:
        return None
    retry_after = max(1, int(entry["until"] - time.time()) + 1)
    return JwksUnavailable(
        f"{entry['message']} (remembered for the refetch cooldown; next fetch in about "
        f"{retry_after} s)",
        retry_after=retry_after,
    )


def _remember_failure(profile: TrustedAuthTokenProfile, error: JwksUnavailable) -> None:
    cooldown = trusted_auth_settings.JWKS_REFETCH_COOLDOWN_SECONDS
    _cache().set(
        _cache_key("jwks-failed", profile),
        {"url": profile.jwks_url, "message": error.message, "until": time.time() + cooldown},
        timeout=cooldown,
    )
    error.retry_after = max(1, int(cooldown))


def forget_remembered_failure(profile: TrustedAuthTokenProfile) -> None:
    """End a remembered fetch failure now (a good set was stored, or an operator fixed it)."""
    _cache().delete(_cache_key("jwks-failed", profile))


def _keyset_from(entry: Any, profile: TrustedAuthTokenProfile) -> KeySet | None:
    """The cache entry as a key set, when it holds one fetched from the profile's current URL."""
    if not isinstance(entry, dict) or entry.get("url") != profile.jwks_url:
        return None
    return KeySet(url=entry["url"], keys=entry["keys"], fetched_at=entry["fetched_at"])


def cached_keyset(profile: TrustedAuthTokenProfile) -> KeySet | None:
    return _keyset_from(_cache().get(_cache_key("jwks", profile)), profile)


def cached_keysets(profiles: list[TrustedAuthTokenProfile]) -> dict[str, KeySet | None]:
    """``cached_keyset`` of several profiles in one cache round trip (the admin overview).
    A cache that is down reads as nothing cached."""
    keys = {_cache_key("jwks", p): p for p in profiles}
    try:
        entries = _cache().get_many(list(keys))
    except Exception:  # noqa: BLE001 - a dashboard read; attests see the outage themselves
        entries = {}
    return {
        profile.profile_id: _keyset_from(entries.get(cache_key), profile)
        for cache_key, profile in keys.items()
    }


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
    try:
        fetched = fetch_counted(profile.jwks_url)
    except (JwksUnavailable, InvalidJwksUrl) as e:
        jwks_health.record_failure(profile, e.message)
        raise
    return store_keyset(profile, fetched.keys)


def store_keyset(profile: TrustedAuthTokenProfile, keys: list[dict[str, Any]]) -> KeySet:
    """Store keys just fetched from the profile's JWKS URL as its fresh key set (the admin
    fetches once on save to show the keys, and that fetch then serves attests too)."""
    keyset = KeySet(url=profile.jwks_url, keys=keys, fetched_at=time.time())
    lifetime = (
        trusted_auth_settings.JWKS_CACHE_SECONDS + trusted_auth_settings.JWKS_STALE_IF_ERROR_SECONDS
    )
    _cache().set(
        _cache_key("jwks", profile),
        {"url": keyset.url, "keys": keyset.keys, "fetched_at": keyset.fetched_at},
        timeout=lifetime,
    )
    jwks_health.record_success(profile)
    forget_remembered_failure(profile)  # a good set ends a remembered failure
    return keyset


def is_fresh(keyset: KeySet, now: float | None = None) -> bool:
    """Fetched less than ``JWKS_CACHE_SECONDS`` before ``now`` (default: the current time)."""
    now = time.time() if now is None else now
    return now - keyset.fetched_at < trusted_auth_settings.JWKS_CACHE_SECONDS


def _newer(latest: KeySet | None, known: KeySet | None) -> bool:
    return latest is not None and (known is None or latest.fetched_at > known.fetched_at)


def _fetch_holding_lock(profile: TrustedAuthTokenProfile, known: KeySet | None) -> KeySet:
    latest = cached_keyset(profile)
    if latest is not None and _newer(latest, known):
        return latest  # another worker refreshed between our look and our lock
    try:
        keyset = refresh_keyset(profile)
    except (JwksUnavailable, InvalidJwksUrl) as error:
        if isinstance(error, JwksUnavailable):
            _remember_failure(profile, error)
        if known is None:
            raise
        return _serve_stale(profile, known)  # the cache entry's own timeout bounds it
    return keyset


def _serve_stale(profile: TrustedAuthTokenProfile, known: KeySet) -> KeySet:
    """Stale-if-error: the last good set, logged at WARNING (``trusted_auth.jwks``)."""
    logger.warning(
        "serving the stale JWKS of profile %s, fetched %d s ago",
        profile.profile_id,
        time.time() - known.fetched_at,
        extra={"profile_id": profile.profile_id, "jwks_url": profile.jwks_url},
    )
    return known


def _wait_for_other_fetch(profile: TrustedAuthTokenProfile, known: KeySet | None) -> KeySet:
    """Another worker is fetching this profile's JWKS: wait a short bound for its result."""
    waited_until = time.monotonic() + float(trusted_auth_settings.JWKS_FETCH_WAIT_SECONDS)
    failure = None
    while True:
        latest = cached_keyset(profile)
        if latest is not None and _newer(latest, known):
            return latest
        failure = _remembered_failure(profile)
        if failure is not None or not _cache().get(_cache_key("jwks-fetching", profile)):
            break  # the other fetch ended without a newer set
        if time.monotonic() >= waited_until:
            break
        time.sleep(_WAIT_POLL_SECONDS)
    if known is not None:
        return known
    raise failure or JwksUnavailable(
        "the issuer's JWKS is being fetched by another request and no copy is cached yet",
        retry_after=1,
    )


def _release_fetch_lock(lock_key: str, token: str) -> None:
    """Delete the fetch lock if it still holds ``token``: an expired lock may be another
    worker's now. Get-then-delete is not atomic (the cache API has no compare-and-delete), so a
    lock can still change hands between the two calls; the cost is one more fetch of the same
    JWKS, since the lock saves fetches and guards nothing (every fetched set is checked alike)."""
    cache = _cache()
    if cache.get(lock_key) == token:
        cache.delete(lock_key)


def _refetch(profile: TrustedAuthTokenProfile, known: KeySet | None) -> KeySet:
    lock_ttl = int(trusted_auth_settings.JWKS_TOTAL_TIMEOUT_SECONDS) + 2
    lock_key = _cache_key("jwks-fetching", profile)
    token = secrets.token_hex(16)
    if not _cache().add(lock_key, token, timeout=lock_ttl):
        return _wait_for_other_fetch(profile, known)
    try:
        return _fetch_holding_lock(profile, known)
    finally:
        _release_fetch_lock(lock_key, token)


def jwks_for(profile: TrustedAuthTokenProfile, kid: str | None) -> KeySet:
    """The key set to verify a token with ``kid``, refetching under the rules above."""
    keyset = cached_keyset(profile)
    has_kid = keyset is not None and (kid is None or any(k.get("kid") == kid for k in keyset.keys))
    if keyset is not None and is_fresh(keyset) and has_kid:
        metrics.increment(metrics.JWKS_CACHE_HITS)
        return keyset
    failure = _remembered_failure(profile)
    if failure is not None:
        if keyset is not None:
            return keyset  # stale-if-error while the failure is remembered
        raise failure
    if keyset is None:
        return _refetch(profile, None)
    if not _cache().add(
        _cache_key("jwks-refetch", profile),
        1,
        timeout=trusted_auth_settings.JWKS_REFETCH_COOLDOWN_SECONDS,
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
    # Several keys may share a kid (rotation done carelessly, or a hostile JWKS): each costs a
    # signature check, so only the first few are tried, in the JWKS's order.
    fitting = fitting[:MAX_CANDIDATE_KEYS]
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
