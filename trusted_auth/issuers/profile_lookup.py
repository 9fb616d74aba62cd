"""Finding trusted auth token profiles: by public ``ttp-…`` id, or by the issuer a token names."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jwt
from django.db.models import Prefetch, prefetch_related_objects

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, ProfileNotFound
from trusted_auth.internal import generations
from trusted_auth.internal.cache import ProcessCache
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile


def get_profile(profile_id: Any, *, for_update: bool = False) -> TrustedAuthTokenProfile:
    """The profile with this public id, its PEM keys prefetched. Raises ``ProfileNotFound``.
    ``for_update`` locks the row (inside a transaction) before its keys are read."""
    if not isinstance(profile_id, str) or not profile_id:
        raise BadRequest("profile_id is required")
    if "\x00" in profile_id:  # no id holds one, and PostgreSQL refuses to compare it
        raise ProfileNotFound("no trusted auth token profile with a NUL in its id")
    profiles = TrustedAuthTokenProfile.objects.all()
    if for_update:
        profiles = profiles.select_for_update()
    profile = profiles.filter(profile_id=profile_id).first()
    if profile is None:
        raise ProfileNotFound(f"no trusted auth token profile {profile_id[:80]!r}")
    # Only a PEM profile has keys to read: reading a JWKS profile (every attest) saves the
    # empty query. An update (for_update) reads them anyway, to replace or delete them.
    is_pem = profile.public_key_type == TrustedAuthTokenProfile.KeyType.PEM
    prefetch_related_objects(
        [profile],
        Prefetch(
            "pem_keys",
            queryset=ProfilePublicKey.objects.all()
            if is_pem or for_update
            else ProfilePublicKey.objects.none(),
        ),
    )
    return profile


# A handful of profiles is normal; the bound keeps a flood of made-up ids (never stored:
# get_profile raises for them) and many real profiles from growing the process.
_attest_copies: ProcessCache[str, TrustedAuthTokenProfile] = ProcessCache(
    256, counter=generations.PROFILES
)


def _kept(cache: ProcessCache[Any, Any], key: Any, load: Callable[[], Any]) -> Any:
    """``load()``, through this process's copy in ``cache`` while the ``profiles`` generation is
    unchanged and the copy is younger than ``PROFILE_CACHE_SECONDS`` (``0``: no copy)."""
    lifetime = trusted_auth_settings.PROFILE_CACHE_SECONDS
    if not lifetime:
        return load()
    return cache.fetch(key, load, max_age=lifetime)


def profile_for_attest(profile_id: Any) -> TrustedAuthTokenProfile:
    """``get_profile(profile_id)`` as attest reads it, through this process's copy (``_kept``).
    The copy is shared by threads: never modify it."""
    if not isinstance(profile_id, str) or not profile_id:
        return get_profile(profile_id)
    return _kept(_attest_copies, profile_id, partial(get_profile, profile_id))


# profile pk -> its grantable_roles ([] once deleted).
_grantable_copies: ProcessCache[int, list[str]] = ProcessCache(256, counter=generations.PROFILES)


def _load_grantable_roles(profile_pk: int) -> list[str]:
    found = (
        TrustedAuthTokenProfile.objects.filter(pk=profile_pk)
        .values_list("grantable_roles", flat=True)
        .first()
    )
    return list(found or [])


def grantable_roles(profile_pk: int | None) -> list[str]:
    """The allow-list of the profile with this pk (none for a deleted profile), through this
    process's copy as attest reads profiles (``_kept``)."""
    if profile_pk is None:
        return []
    return _kept(_grantable_copies, profile_pk, partial(_load_grantable_roles, profile_pk))


def list_profiles() -> list[TrustedAuthTokenProfile]:
    """Every profile, by name, with PEM keys prefetched."""
    return list(TrustedAuthTokenProfile.objects.prefetch_related("pem_keys").order_by("name", "id"))


def profiles_for_token(token: Any) -> list[TrustedAuthTokenProfile]:
    """The profiles a token names by its unverified ``iss`` (narrowed by ``aud`` when several
    share it), for OAuth's token endpoint without ``profile_id``: read, not trusted (the attest
    verifies the token against the one found). An unreadable token names none."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, TypeError, ValueError):
        return []
    issuer, audience = claims.get("iss"), claims.get("aud")
    if not isinstance(issuer, str) or not issuer or "\x00" in issuer:
        return []
    matches = list(TrustedAuthTokenProfile.objects.filter(issuer=issuer).order_by("id"))
    if len(matches) > 1:
        audiences = audience if isinstance(audience, list) else [audience]
        matches = [profile for profile in matches if profile.audience in audiences]
    return matches
