"""The profile an attest verifies against, from the Django cache instead of two queries.

Every attest reads its profile (and a PEM profile's keys). Profiles change rarely, so the attest
path keeps a copy in the Django cache (``CACHE_ALIAS``: shared by every worker with Redis) for at
most ``PROFILE_CACHE_SECONDS``. Any save or delete of a profile or of one of its PEM keys drops
the copy at once and again when the transaction commits, so a removed key stops verifying on
every worker sharing the cache immediately; the lifetime only bounds changes made behind the
ORM's back (raw SQL, ``QuerySet.update``). ``0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
from typing import Any

import django
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile

from .profile_lookup import get_profile


def _cache():
    return caches[trusted_auth_settings.CACHE_ALIAS]


def _key(profile_id: str) -> str:
    # Hashed: profile_id comes from the request and may hold anything. Django's version is in
    # the key: hosts on two versions during a rolling upgrade do not read each other's pickles.
    digest = hashlib.sha256(profile_id.encode()).hexdigest()
    return f"trusted_auth:profile:v1:{django.__version__}:{digest}"


def profile_for_attest(profile_id: Any) -> TrustedAuthTokenProfile:
    """``get_profile(profile_id)``, served from the cache when a fresh copy is there."""
    lifetime = trusted_auth_settings.PROFILE_CACHE_SECONDS
    if not lifetime or not isinstance(profile_id, str) or not profile_id:
        return get_profile(profile_id)
    try:
        cached = _cache().get(_key(profile_id))
    except Exception:  # noqa: BLE001 - a copy that no longer unpickles is just a miss
        cached = None
    if isinstance(cached, TrustedAuthTokenProfile) and cached.profile_id == profile_id:
        return cached
    profile = get_profile(profile_id)
    _cache().set(_key(profile_id), profile, timeout=lifetime)
    return profile


def forget_profile(profile_id: str) -> None:
    """Drop the cached copy now, and again once the current transaction commits (a worker may
    have cached the old rows in between)."""
    key = _key(profile_id)
    _cache().delete(key)
    transaction.on_commit(lambda: _cache().delete(key))


def _profile_changed(sender, instance: TrustedAuthTokenProfile, **kwargs: Any) -> None:
    forget_profile(instance.profile_id)


def _key_changed(sender, instance: ProfilePublicKey, **kwargs: Any) -> None:
    profile_id = (
        TrustedAuthTokenProfile.objects.filter(pk=instance.profile_id)
        .values_list("profile_id", flat=True)
        .first()
    )
    if profile_id is not None:
        forget_profile(profile_id)


def connect_signals() -> None:
    for name, signal in (("post_save", post_save), ("post_delete", post_delete)):
        signal.connect(
            _profile_changed,
            sender=TrustedAuthTokenProfile,
            dispatch_uid=f"trusted_auth.profile_cache.profile.{name}",
        )
        signal.connect(
            _key_changed,
            sender=ProfilePublicKey,
            dispatch_uid=f"trusted_auth.profile_cache.key.{name}",
        )
