"""Our session JWT (DESIGN.md §2): RS256, short-lived, verifiable by anyone against our JWKS."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import jwt

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import SessionNotFound
from trusted_auth.internal import base64url
from trusted_auth.internal.cache import ProcessCache
from trusted_auth.models import Session, SigningKey
from trusted_auth.sessions.signing_keys import current_signing_key, keyring, private_key
from trusted_auth.timeutil import rfc3339

SESSION_CLAIM = "https://stytch.com/session"
ORGANIZATION_CLAIM = "https://stytch.com/organization"


def session_claim(session: Session) -> dict[str, Any]:
    return {
        "id": session.session_id,
        "started_at": rfc3339(session.started_at),
        "last_accessed_at": rfc3339(session.last_accessed_at),
        "expires_at": rfc3339(session.expires_at),
        "attributes": {"ip_address": session.ip_address or "", "user_agent": session.user_agent},
        "authentication_factors": session.authentication_factors,
        "roles": session.roles,
    }


def issue_session_jwt(
    session: Session, subject: str, key: SigningKey | None = None, *, reuse: bool = False
) -> str:
    """Sign a session JWT for ``session`` (by ``key``, default the current one); it expires
    after 5 minutes or with the session. ``reuse`` (authenticate, on a session known live):
    return the JWT signed here less than ``SESSION_JWT_REUSE_SECONDS`` ago for the same claims
    but ``iat``/``nbf``/``exp`` and the same key."""
    key = key or current_signing_key()
    now = int(time.time())
    claims = dict(session.custom_claims)
    claims.update(
        {
            "iss": trusted_auth_settings.ISSUER,
            "aud": [trusted_auth_settings.PROJECT_ID],
            "sub": subject,
            SESSION_CLAIM: session_claim(session),
        }
    )
    organization = session.organization  # None, without a query, for consumer sessions
    if organization is not None:
        claims[ORGANIZATION_CLAIM] = {
            "organization_id": organization.organization_id,
            "slug": organization.slug,
        }
    fingerprint = ""
    lifetime = int(trusted_auth_settings.SESSION_JWT_LIFETIME_SECONDS)
    if reuse:
        fingerprint = key.kid + json.dumps(claims, sort_keys=True, separators=(",", ":"))
        # Reused for at most half a session JWT's lifetime, whatever the setting says.
        window = min(int(trusted_auth_settings.SESSION_JWT_REUSE_SECONDS), lifetime // 2)
        recent = _recent_jwts.get(session.session_id, fingerprint, now=now, max_age=window)
        if recent is not None:
            return recent
    expires = min(now + lifetime, int(session.expires_at.timestamp()))
    claims.update({"iat": now, "nbf": now, "exp": expires})
    token = jwt.encode(claims, private_key(key), algorithm="RS256", headers={"kid": key.kid})
    if reuse:
        _recent_jwts.put(session.session_id, fingerprint, token, now=now)
    return token


# session id -> the JWT authenticate last signed for it, tagged with the claims' fingerprint:
# a hit costs a JSON dump instead of an RSA signature; 2,048 entries are a few MB at most.
_recent_jwts: ProcessCache[str, str] = ProcessCache(2048)


# Every session JWT we accept carries these, whoever verifies it.
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


def verify_session_jwt(token: Any, *, allow_expired: bool = False) -> dict[str, Any]:
    """Verify one of our session JWTs (RS256, our issuer and project, ``REQUIRED_CLAIMS``) with
    the keyring key its ``kid`` names: a key retired anywhere is refused on the next request.
    ``allow_expired`` leaves ``exp`` to the session. Raises ``SessionNotFound``.

    A token verified before is not verified again while the keyring holds the same key object;
    its claims are re-read and ``exp`` re-checked (``nbf`` and ``iat`` only pass later)."""
    try:
        now = time.time()
        tag = (trusted_auth_settings.ISSUER, trusted_auth_settings.PROJECT_ID)
        remembered = _verified.get(token, tag, now=now, max_age=math.inf)
        if remembered is not None and keyring().verifiers.get(remembered[0]) is remembered[1]:
            # The exact string jwt.decode accepted: its payload is the claims object it read.
            claims = json.loads(base64url.decode(token.split(".", 2)[1]))
            if not allow_expired and int(claims["exp"]) <= now:
                raise SessionNotFound("session_jwt is not valid: ExpiredSignatureError")
        else:
            kid = jwt.get_unverified_header(token).get("kid", "")  # a str: PyJWT checks it
            key = keyring().verifiers.get(kid)
            if key is None:
                raise SessionNotFound("session_jwt is not signed by a key of this project")
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=tag[0],
                audience=tag[1],
                options={"require": REQUIRED_CLAIMS, "verify_exp": not allow_expired},
            )
            _verified.put(token, tag, (kid, key), now=now)
    except SessionNotFound:
        raise
    except Exception as e:  # noqa: BLE001 - hostile input must never 500
        raise SessionNotFound(f"session_jwt is not valid: {type(e).__name__}") from e
    session = claims.get(SESSION_CLAIM)
    if not isinstance(session, dict) or not isinstance(session.get("id"), str):
        raise SessionNotFound("session_jwt carries no session id")
    return claims


# token -> (kid, the key that verified it), tagged with (ISSUER, PROJECT_ID); no age limit:
# every use checks exp again.
_verified: ProcessCache[str, tuple[str, jwt.PyJWK]] = ProcessCache(4096)


def session_id_from_jwt(token: Any) -> str:
    """The session id of a verified session JWT, expired or not (``verify_session_jwt``)."""
    return verify_session_jwt(token, allow_expired=True)[SESSION_CLAIM]["id"]
