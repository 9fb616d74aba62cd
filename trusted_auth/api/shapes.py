"""Stytch-shaped JSON for our models: what the official SDK's pydantic models parse."""

from __future__ import annotations

from typing import Any

from trusted_auth.models import Session, UserIdentity
from trusted_auth.sessions.session_jwt import session_claim
from trusted_auth.timeutil import rfc3339


def user_shape(identity: UserIdentity) -> dict[str, Any]:
    return {
        "user_id": identity.user_id,
        "emails": [
            {
                "email_id": f"email-{identity.user_id.removeprefix('user-')}",
                "email": identity.email,
                "verified": True,
            }
        ],
        "status": identity.status,
        "name": {"first_name": "", "middle_name": "", "last_name": "", **identity.name},
        "created_at": rfc3339(identity.created_at),
        "external_id": identity.external_id or None,
        "phone_numbers": [],
        "webauthn_registrations": [],
        "providers": [],
        "totps": [],
        "crypto_wallets": [],
        "biometric_registrations": [],
        "connected_apps": [],
        "is_locked": False,
        "roles": [],
        "trusted_metadata": identity.trusted_metadata,
        "untrusted_metadata": {},
        "password": None,
    }


def session_shape(session: Session, user_id: str) -> dict[str, Any]:
    claim = session_claim(session)
    return {
        "session_id": claim["id"],
        "user_id": user_id,
        "started_at": claim["started_at"],
        "last_accessed_at": claim["last_accessed_at"],
        "expires_at": claim["expires_at"],
        "attributes": claim["attributes"],
        "authentication_factors": claim["authentication_factors"],
        "custom_claims": session.custom_claims,
        "roles": session.roles,
    }
