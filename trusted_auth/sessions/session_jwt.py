"""Our session JWT (DESIGN.md §2): RS256, short-lived, verifiable by anyone against our JWKS."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import SessionNotFound
from trusted_auth.internal import base64url
from trusted_auth.internal.cache import ProcessCache
from trusted_auth.models import Session, SigningKey
from trusted_auth.sessions.signing_keys import current_signing_key, keyring, private_key
from trusted_auth.timeutil import rfc3339

SESSION_CLAIM = "https://stytch.com/session"
ORGANIZATION_CLAIM = "https://stytch.com/organization"


def session_claim(
    session: Session, authentication_factors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": session.session_id,
        "started_at": rfc3339(session.started_at),
        "last_accessed_at": rfc3339(session.last_accessed_at),
        "expires_at": rfc3339(session.expires_at),
        "attributes": {"ip_address": session.ip_address or "", "user_agent": session.user_agent},
        "authentication_factors": authentication_factors or session.authentication_factors,
        "roles": session.roles,
    }


def issue_session_jwt(
    session: Session, subject: str, key: SigningKey | None = None, *, reuse: bool = False
) -> str:
    """Sign a session JWT for ``session``; it expires after 5 minutes or with the session.

    ``key``: the signing key to use, read beforehand (attest reads it before its transaction
    and signs after the commit); by default the current one.
    ``reuse`` (authenticate): return the JWT this process signed for the session less than
    ``SESSION_JWT_REUSE_SECONDS`` ago when every claim but ``iat``/``nbf``/``exp`` would be the
    same, signed by the same key; the caller has checked the session is live.
    """
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
    if reuse:
        fingerprint = key.kid + json.dumps(claims, sort_keys=True, separators=(",", ":"))
        recent = _recent_jwts.get(session.session_id, fingerprint, now=now, max_age=_reuse_window())
        if recent is not None:
            return recent
    expires = min(
        now + int(trusted_auth_settings.SESSION_JWT_LIFETIME_SECONDS),
        int(session.expires_at.timestamp()),
    )
    claims.update({"iat": now, "nbf": now, "exp": expires})
    token = jwt.encode(claims, private_key(key), algorithm="RS256", headers={"kid": key.kid})
    if reuse:
        _recent_jwts.put(session.session_id, fingerprint, token, now=now)
    return token


# session id -> the JWT authenticate last signed for it, tagged with the claims' fingerprint:
# a hit costs a JSON dump instead of an RSA signature; 2,048 entries are a few MB at most.
_recent_jwts: ProcessCache[str, str] = ProcessCache(2048)


def _reuse_window() -> int:
    """``SESSION_JWT_REUSE_SECONDS``, at most half a session JWT's lifetime."""
    return min(
        int(trusted_auth_settings.SESSION_JWT_REUSE_SECONDS),
        int(trusted_auth_settings.SESSION_JWT_LIFETIME_SECONDS) // 2,
    )


def _unverified_header(token: Any) -> Any:
    """The JOSE header of a compact JWS, parsed from its first segment alone: it picks the key,
    and ``_verified_claims`` then checks it with the whole token. Raises on anything malformed;
    callers turn every exception into a refusal."""
    return json.loads(_segment_bytes(token.split(".", 1)[0]))


# Every session JWT we accept carries these, whoever verifies it.
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


def verify_session_jwt(token: Any, *, allow_expired: bool = False) -> dict[str, Any]:
    """Verify one of our session JWTs: the one verifier, for ``authenticate`` and Bearer auth.

    The key comes from the process's keyring (``signing_keys.keyring``): no query of its own
    beyond the request's generation read, and a key retired in any process is refused on the
    next request. The claims must include ``REQUIRED_CLAIMS`` and a session claim with an
    ``id``. ``allow_expired`` accepts a valid signature past ``exp``: the session itself
    decides. Raises ``SessionNotFound`` when the token is not ours or not valid.

    A client sends the same JWT with each request until it expires, so the full check (RSA
    signature, ``iss``, ``aud``, required claims) runs once per token and key: this process
    then remembers the exact token string, tagged with the key object that verified it. A
    later call with the same string, while the keyring still holds that same key object (a
    rotate or retire anywhere loads new ones), decodes the payload again (a fresh dict every
    time) and checks ``exp`` again; ``nbf`` and ``iat`` only ever pass later than they did.
    """
    try:
        header = _unverified_header(token)
        kid = header.get("kid") if isinstance(header, dict) else None
        key = keyring().verifiers.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise SessionNotFound("session_jwt is not signed by a key of this project")
        tag = (key, trusted_auth_settings.ISSUER, trusted_auth_settings.PROJECT_ID)
        now = time.time()
        if _verified.get(token, tag, now=now, max_age=_VERIFIED_MAX_AGE):
            claims = _payload(token)
            if not allow_expired and int(claims["exp"]) <= now:
                raise SessionNotFound("session_jwt is not valid: ExpiredSignatureError")
        else:
            claims = _verified_claims(token, header, key, now=now, verify_exp=not allow_expired)
            _verified.put(token, tag, True, now=now)
    except SessionNotFound:
        raise
    except Exception as e:  # noqa: BLE001 - hostile input must never 500
        raise SessionNotFound(f"session_jwt is not valid: {type(e).__name__}") from e
    session = claims.get(SESSION_CLAIM)
    if not isinstance(session, dict) or not isinstance(session.get("id"), str):
        raise SessionNotFound("session_jwt carries no session id")
    return claims


# token -> True, tagged with (verifying key, ISSUER, PROJECT_ID): the session JWTs this process
# has verified, 4,096 at most (about 1 KB each). No age limit: every use checks exp again.
_verified: ProcessCache[str, bool] = ProcessCache(4096)
_VERIFIED_MAX_AGE = math.inf


# A session JWT's first check, without ``jwt.decode``. Our session JWTs have one form, the one
# ``issue_session_jwt`` writes: three canonical unpadded base64url segments under the header
# {"alg": "RS256", "kid": ..., "typ": "JWT"}. This parses exactly that form, has PyJWT's RS256
# algorithm (``cryptography`` underneath) check the signature, and checks the registered claims
# by ``jwt.decode``'s rules, raising its exception types; ``tests/test_fuzz.py`` holds the two to
# the same answer on arbitrary claims and headers. Why not ``jwt.decode`` itself: PyJWT 2.15
# checks every base64 character of a token in a Python loop, 165 µs of the 300 µs it takes on a
# 1.4 KB session JWT, where the RSA check is 50 µs (measured on the benchmark machine); a
# client's first request to a process (Bearer) paid it in full.
_RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)
_HEADER_NAMES = frozenset({"alg", "kid", "typ"})


def _segment_bytes(segment: str) -> bytes:
    """A canonical unpadded base64url segment (RFC 7515 §2), decoded; anything else refused."""
    if not base64url.is_canonical(segment):
        raise jwt.DecodeError("a segment is not canonical unpadded base64url")
    return base64url.decode(segment)


def _verified_claims(
    token: str, header: Any, key: jwt.PyJWK, *, now: float, verify_exp: bool
) -> dict[str, Any]:
    """The claims of ``token`` (whose first segment parsed as ``header``) once its form,
    signature and registered claims check out."""
    segments = token.split(".")
    if len(segments) != 3:
        raise jwt.DecodeError("Not enough segments")
    header_segment, payload_segment, signature_segment = segments
    if not isinstance(header, dict) or not header.keys() <= _HEADER_NAMES:
        raise jwt.InvalidTokenError("not the header of a session JWT")
    if header.get("alg") != "RS256":
        raise jwt.InvalidAlgorithmError("The specified alg value is not allowed")
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    if not _RS256.verify(signing_input, key.key, _segment_bytes(signature_segment)):
        raise jwt.InvalidSignatureError("Signature verification failed")
    claims = json.loads(_segment_bytes(payload_segment))
    if not isinstance(claims, dict):
        raise jwt.DecodeError("Invalid payload string: must be a json object")
    _check_registered_claims(claims, now=now, verify_exp=verify_exp)
    return claims


def _check_registered_claims(claims: dict[str, Any], *, now: float, verify_exp: bool) -> None:
    """``jwt.decode``'s claim rules for our options: ``REQUIRED_CLAIMS``, ``iat``/``nbf`` not in
    the future, ``exp`` in the future, our ``iss``, our project in ``aud``, ``sub``/``jti``
    strings. No leeway: only our own servers sign these."""
    for name in REQUIRED_CLAIMS:
        if claims.get(name) is None:
            raise jwt.MissingRequiredClaimError(name)
    if _int_claim(claims, "iat", jwt.InvalidIssuedAtError) > now:
        raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in claims and _int_claim(claims, "nbf", jwt.DecodeError) > now:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if verify_exp and _int_claim(claims, "exp", jwt.DecodeError) <= now:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if claims["iss"] != trusted_auth_settings.ISSUER:
        raise jwt.InvalidIssuerError("Invalid issuer")
    audience = claims["aud"]
    if not audience:
        raise jwt.MissingRequiredClaimError("aud")
    audience = [audience] if isinstance(audience, str) else audience
    if not isinstance(audience, list) or not all(isinstance(a, str) for a in audience):
        raise jwt.InvalidAudienceError("Invalid claim format in token")
    if trusted_auth_settings.PROJECT_ID not in audience:
        raise jwt.InvalidAudienceError("Audience doesn't match")
    if not isinstance(claims["sub"], str):
        raise InvalidSubjectError("Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise InvalidJTIError("JWT ID must be a string")


def _int_claim(claims: dict[str, Any], name: str, error: type[Exception]) -> int:
    """A time claim as ``jwt.decode`` reads it: ``int()`` of the value, or ``error``."""
    try:
        return int(claims[name])
    except (ValueError, TypeError, OverflowError):
        raise error(f"The {name} claim must be an integer.") from None


def _payload(token: str) -> dict[str, Any]:
    """The claims of a token whose exact string was verified before (``verify_session_jwt``)."""
    claims = json.loads(base64url.decode(token.split(".", 2)[1]))
    if not isinstance(claims, dict):
        raise SessionNotFound("session_jwt payload is not an object")
    return claims


def decode_session_jwt(token: Any, *, allow_expired: bool) -> dict[str, Any]:
    """Former name of ``verify_session_jwt``, kept for callers of the 0.x API."""
    return verify_session_jwt(token, allow_expired=allow_expired)


def session_id_from_jwt(token: Any) -> str:
    """The session id of a verified session JWT, expired or not (``verify_session_jwt``)."""
    return verify_session_jwt(token, allow_expired=True)[SESSION_CLAIM]["id"]
