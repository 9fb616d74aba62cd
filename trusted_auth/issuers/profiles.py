"""Trusted auth token profiles: create, update and delete through one write path,
``save_profile`` (the rules, then the row and its keys in one transaction). The lookup, rules,
JSON and dry-run helpers are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from django.db import transaction

from trusted_auth.errors import InvalidProfile, TrustedAuthError
from trusted_auth.internal.pem import (
    check_keys_fit,
    check_pem_keys,
    describe_public_key,
    load_stored_key,
    normalised_public_key_pem,
    public_key_fingerprint,
    spki_pem,
    validate_public_key_pem,
)
from trusted_auth.issuers.dry_run import dry_run_token
from trusted_auth.issuers.profile_json import pem_key_as_dict, profile_as_dict
from trusted_auth.issuers.profile_lookup import get_profile, list_profiles
from trusted_auth.issuers.profile_rules import (
    clean_algorithms,
    clean_attribute_mapping,
    clean_untrusted_claims,
    describe_jwks_keys,
    preview_jwks,
    untrusted_mappings,
    usable_jwks,
    validate_issuer,
    validate_profile,
)
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.models.profiles import MAX_PEM_KEYS

__all__ = [
    "add_pem_key",
    "check_pem_keys",
    "clean_algorithms",
    "clean_attribute_mapping",
    "clean_untrusted_claims",
    "create_profile",
    "delete_profile",
    "describe_jwks_keys",
    "describe_public_key",
    "dry_run_token",
    "get_profile",
    "list_profiles",
    "normalised_public_key_pem",
    "pem_key_as_dict",
    "preview_jwks",
    "profile_as_dict",
    "remove_pem_key",
    "untrusted_mappings",
    "save_profile",
    "update_profile",
    "usable_jwks",
    "validate_issuer",
    "validate_profile",
    "validate_public_key_pem",
]

_PLAIN_FIELDS = (
    "name",
    "issuer",
    "audience",
    "can_jit_provision",
    "can_jit_create_organizations",
    "leeway_seconds",
    "max_token_lifetime_seconds",
    "replay_policy",
    "link_policy",
    "require_verified_email",
    "grantable_roles",
)
UPDATABLE_FIELDS = frozenset(
    {*_PLAIN_FIELDS, "attribute_mapping", "jwks_url", "pem_keys", "algorithms", "untrusted_claims"}
)


@dataclass
class KeyChanges:
    """The PEM key rows one ``save_profile`` added and removed (for the admin's history)."""

    added: list[ProfilePublicKey] = field(default_factory=list)
    removed: list[ProfilePublicKey] = field(default_factory=list)


# The one write path --------------------------------------------------------------------------


def save_profile(
    profile: TrustedAuthTokenProfile, new_pems: Sequence[str] | None = None
) -> KeyChanges:
    """Validate ``profile`` as it now stands and save it; ``new_pems`` replaces its PEM keys.

    A key already stored (same fingerprint) keeps its row and ``pem-…`` id; a JWKS profile
    keeps none. Raises ``InvalidProfile`` or ``InvalidJwksUrl`` and then writes nothing.
    """
    keys = validate_profile(profile, new_pems)
    with transaction.atomic():
        profile.save()
        return _write_keys(profile, keys)


def _write_keys(profile: TrustedAuthTokenProfile, keys: list[PublicKeyTypes] | None) -> KeyChanges:
    changes = KeyChanges()
    stored = list(ProfilePublicKey.objects.filter(profile=profile))
    if profile.public_key_type == TrustedAuthTokenProfile.KeyType.JWK:
        changes.removed = stored
    elif keys is not None:
        by_fingerprint: dict[str, Any] = {}
        for row in stored:
            key = load_stored_key(row.public_key_pem)
            if key is not None:
                by_fingerprint.setdefault(public_key_fingerprint(key), row)
        wanted = [(public_key_fingerprint(key), key) for key in keys]
        kept = {by_fingerprint[f].pk for f, _ in wanted if f in by_fingerprint}
        changes.removed = [row for row in stored if row.pk not in kept]
        changes.added = [
            ProfilePublicKey(profile=profile, public_key_pem=spki_pem(key))
            for f, key in wanted
            if f not in by_fingerprint
        ]
    if changes.removed:
        ProfilePublicKey.objects.filter(pk__in=[row.pk for row in changes.removed]).delete()
    for row in changes.added:
        row.save()  # one by one: each gets its pk (bulk_create gives none on some backends)
    if changes.added or changes.removed:
        # Cached prefetches (``profile.pem_keys.all()``) are stale now.
        getattr(profile, "_prefetched_objects_cache", {}).pop("pem_keys", None)
    return changes


# Create, update, delete ----------------------------------------------------------------------


def _copy(mapping: Any) -> Any:
    # Anything but a mapping is left as it is, for the validator to refuse with a message.
    return dict(mapping) if isinstance(mapping, Mapping) else mapping


def _listed(values: Any) -> Any:
    # A list or tuple becomes a list; anything else is left for the validator to refuse.
    return list(values) if isinstance(values, list | tuple) else values


def _key_source(jwks_url: str | None, pem_keys: Sequence[str] | None) -> str | None:
    if jwks_url and pem_keys:
        raise InvalidProfile("give a JWKS URL or PEM public keys, not both", field="jwks_url")
    if jwks_url:
        return TrustedAuthTokenProfile.KeyType.JWK
    if pem_keys:
        return TrustedAuthTokenProfile.KeyType.PEM
    return None


def create_profile(
    *,
    name: str,
    issuer: str,
    audience: str,
    attribute_mapping: Mapping[str, str],
    jwks_url: str = "",
    pem_keys: Sequence[str] = (),
    can_jit_provision: bool = False,
    can_jit_create_organizations: bool = False,
    algorithms: Sequence[str] | None = None,
    leeway_seconds: int | None = None,
    max_token_lifetime_seconds: int | None = None,
    replay_policy: str | None = None,
    link_policy: str | None = None,
    require_verified_email: bool | None = None,
    untrusted_claims: Sequence[str] | None = None,
    grantable_roles: Sequence[str] | None = None,
) -> TrustedAuthTokenProfile:
    """Create a profile trusting a JWKS URL or 1..5 PEM public keys; ``None`` takes the model
    default. Raises ``InvalidProfile`` or ``InvalidJwksUrl``; the JWKS URL is checked, not fetched.
    """
    key_type = _key_source(jwks_url, pem_keys)
    if key_type is None:
        raise InvalidProfile("give a JWKS URL or 1 to 5 PEM public keys", field="jwks_url")
    profile = TrustedAuthTokenProfile(
        name=name,
        issuer=issuer,
        audience=audience,
        public_key_type=key_type,
        jwks_url=jwks_url if key_type == TrustedAuthTokenProfile.KeyType.JWK else "",
        attribute_mapping=_copy(attribute_mapping),
        can_jit_provision=can_jit_provision,
        can_jit_create_organizations=can_jit_create_organizations,
        untrusted_claims=_listed(untrusted_claims) if untrusted_claims is not None else [],
    )
    optional = {
        "algorithms": list(algorithms) if isinstance(algorithms, Sequence) else algorithms,
        "leeway_seconds": leeway_seconds,
        "max_token_lifetime_seconds": max_token_lifetime_seconds,
        "replay_policy": replay_policy,
        "link_policy": link_policy,
        "require_verified_email": require_verified_email,
        "grantable_roles": list(grantable_roles) if grantable_roles is not None else None,
    }
    for attribute, value in optional.items():
        if value is not None:
            setattr(profile, attribute, value)
    save_profile(
        profile, list(pem_keys) if key_type == TrustedAuthTokenProfile.KeyType.PEM else None
    )
    return get_profile(profile.profile_id)


def update_profile(profile_id: str, changes: Mapping[str, Any]) -> TrustedAuthTokenProfile:
    """Apply ``changes`` (keys of ``UPDATABLE_FIELDS``) with create's rules. ``jwks_url`` makes a
    JWKS profile (its PEM keys go), ``pem_keys`` a PEM profile with exactly those keys.
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"not updatable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        profile = get_profile(profile_id, for_update=True)
        _apply_changes(profile, changes)
    return get_profile(profile_id)


def _apply_changes(profile: TrustedAuthTokenProfile, changes: Mapping[str, Any]) -> None:
    key_type = _key_source(changes.get("jwks_url"), changes.get("pem_keys"))
    new_pems = None
    if key_type == TrustedAuthTokenProfile.KeyType.JWK:
        profile.public_key_type, profile.jwks_url = key_type, changes["jwks_url"]
    elif key_type == TrustedAuthTokenProfile.KeyType.PEM:
        profile.public_key_type, profile.jwks_url = key_type, ""
        new_pems = list(changes["pem_keys"])
    for attribute in _PLAIN_FIELDS:
        if changes.get(attribute) is not None:
            setattr(profile, attribute, changes[attribute])
    if changes.get("attribute_mapping") is not None:
        profile.attribute_mapping = _copy(changes["attribute_mapping"])
    if changes.get("algorithms") is not None:
        profile.algorithms = list(changes["algorithms"])
    if changes.get("untrusted_claims") is not None:
        profile.untrusted_claims = _listed(changes["untrusted_claims"])
    save_profile(profile, new_pems)


def delete_profile(profile_id: str) -> dict[str, Any]:
    """Delete a profile and its PEM keys; returns what it was. Sessions it started live on."""
    profile = get_profile(profile_id)
    described = profile_as_dict(profile)
    profile.delete()
    return described


def _locked_pem_profile(profile_id: str) -> TrustedAuthTokenProfile:
    # Locked, so two concurrent add-pem calls cannot both pass the five-key limit.
    profile = get_profile(profile_id, for_update=True)
    if profile.public_key_type != TrustedAuthTokenProfile.KeyType.PEM:
        raise InvalidProfile(
            f"profile {profile.profile_id} trusts a JWKS URL; PEM keys belong "
            "to PEM profiles only (profile update --pem-file … switches it)",
            field="pem_keys",
        )
    return profile


def add_pem_key(profile_id: str, pem: str | bytes) -> ProfilePublicKey:
    """Add one PEM public key to a PEM profile (at most five; no duplicates)."""
    key = validate_public_key_pem(pem)
    with transaction.atomic():
        profile = _locked_pem_profile(profile_id)
        stored = [(row, load_stored_key(row.public_key_pem)) for row in profile.pem_keys.all()]
        if len(stored) >= MAX_PEM_KEYS:
            raise InvalidProfile(
                f"profile {profile.profile_id} already holds {MAX_PEM_KEYS} PEM "
                "keys, the most it may; remove one first (profile remove-pem)",
                field="pem_keys",
            )
        fingerprint = public_key_fingerprint(key)
        for row, existing in stored:
            if existing is not None and public_key_fingerprint(existing) == fingerprint:
                raise InvalidProfile(
                    f"profile {profile.profile_id} already holds this key as {row.key_id}",
                    field="pem_keys",
                )
        check_keys_fit([key], profile.algorithms)
        row = ProfilePublicKey.objects.create(profile=profile, public_key_pem=spki_pem(key))
        profile.save(update_fields=["updated_at"])
    return row


def remove_pem_key(profile_id: str, key_id: str) -> ProfilePublicKey:
    """Remove one PEM key from a PEM profile; the last key cannot go. Returns the removed row."""
    with transaction.atomic():
        profile = _locked_pem_profile(profile_id)
        rows = list(profile.pem_keys.all())
        row = next((r for r in rows if r.key_id == key_id), None)
        if row is None:
            raise TrustedAuthError(
                f"profile {profile.profile_id} has no PEM key {key_id[:80]!r}",
                error_type="profile_key_not_found",
                status_code=404,
            )
        if len(rows) == 1:
            raise InvalidProfile(
                f"{key_id} is the last PEM key of profile {profile.profile_id}; "
                "add its replacement first (profile add-pem)",
                field="pem_keys",
            )
        row.delete()
        profile.save(update_fields=["updated_at"])
    return row
