"""Profiles and their PEM keys as plain JSON-ready data, for the CLI and the admin."""

from __future__ import annotations

from typing import Any

from trusted_auth.internal.pem import describe_public_key, load_stored_key, public_key_fingerprint
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.timeutil import rfc3339


def pem_key_as_dict(row: ProfilePublicKey, *, include_pem: bool = False) -> dict[str, Any]:
    """One stored PEM key: id, type, fingerprint (``unreadable`` when it no longer loads)."""
    key = load_stored_key(row.public_key_pem)
    described: dict[str, Any] = {
        "key_id": row.key_id,
        "key_type": describe_public_key(key) if key is not None else "unreadable",
        "sha256_fingerprint": public_key_fingerprint(key) if key is not None else None,
        "created_at": rfc3339(row.created_at),
    }
    if include_pem:
        described["public_key_pem"] = row.public_key_pem
    return described


def profile_as_dict(
    profile: TrustedAuthTokenProfile, *, include_pem: bool = False
) -> dict[str, Any]:
    """A profile as plain JSON-ready data; ``include_pem`` adds each key's PEM text."""
    return {
        "profile_id": profile.profile_id,
        "name": profile.name,
        "issuer": profile.issuer,
        "audience": profile.audience,
        "public_key_type": profile.public_key_type,
        "jwks_url": profile.jwks_url or None,
        "pem_keys": [
            pem_key_as_dict(row, include_pem=include_pem) for row in profile.pem_keys.all()
        ],
        "attribute_mapping": dict(profile.attribute_mapping),
        "untrusted_claims": list(profile.untrusted_claims),
        "can_jit_provision": profile.can_jit_provision,
        "can_jit_create_organizations": profile.can_jit_create_organizations,
        "algorithms": list(profile.algorithms),
        "leeway_seconds": profile.leeway_seconds,
        "max_token_lifetime_seconds": profile.max_token_lifetime_seconds,
        "replay_policy": profile.replay_policy,
        "link_policy": profile.link_policy,
        "require_verified_email": profile.require_verified_email,
        "grantable_roles": list(profile.grantable_roles or []),
        "created_at": rfc3339(profile.created_at),
        "updated_at": rfc3339(profile.updated_at),
    }
