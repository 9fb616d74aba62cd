"""Token introspection (RFC 7662) and revocation (RFC 7009) of our session tokens and JWTs.

Liveness is ``sessions.find_live_session``'s one rule. Introspection answers ``{"active":
false}`` alike for every dead or unknown token, and revocation the same for a token it knows and
one it does not, so neither says why. A database that is down is a 503, never ``active: false``.
"""

from __future__ import annotations

from typing import Any

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import SessionNotFound
from trusted_auth.models import Session
from trusted_auth.oauth.metadata import issuer
from trusted_auth.sessions.lifecycle import (
    record_use,
    refresh_roles,
    revoke_sessions,
    subject_of,
)
from trusted_auth.sessions.session_jwt import verify_session_jwt
from trusted_auth.sessions.sessions import find_live_session

INACTIVE: dict[str, Any] = {"active": False}


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def introspect(token: str) -> dict[str, Any]:
    """The RFC 7662 answer for a session token or JWT: its session's subject, times, roles and
    organization while it is active (a JWT also until its ``exp``), else ``{"active": false}``.
    An active answer counts as a use of the session (idle timeout)."""
    try:
        if _looks_like_jwt(token):
            claims = verify_session_jwt(token)
            session = find_live_session(session_jwt=token)
            issued_at, expires_at = int(claims["iat"]), int(claims["exp"])
        else:
            session = find_live_session(session_token=token)
            issued_at = int(session.started_at.timestamp())
            expires_at = int(session.expires_at.timestamp())
    except SessionNotFound:
        return dict(INACTIVE)
    record_use(session)
    refresh_roles(session)
    return _active(session, issued_at, expires_at)


def _active(session: Session, issued_at: int, expires_at: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "client_id": trusted_auth_settings.PROJECT_ID,
        "sub": subject_of(session),
        "iss": issuer(),
        "aud": [trusted_auth_settings.PROJECT_ID],
        "iat": issued_at,
        "exp": expires_at,
        "session_id": session.session_id,
        "roles": list(session.roles),
    }
    if session.organization is not None:
        answer["organization_id"] = session.organization.organization_id
        answer["organization"] = {
            "organization_id": session.organization.organization_id,
            "slug": session.organization.slug,
        }
    return answer


def revoke(token: str) -> None:
    """End the session of a session token or session JWT (a JWT past its ``exp`` still names
    its session). An unknown, foreign or already-ended token is not an error (RFC 7009 §2.2)."""
    try:
        if _looks_like_jwt(token):
            revoke_sessions(session_jwt=token, member=None)
        else:
            revoke_sessions(session_token=token, member=None)
    except SessionNotFound:
        pass
