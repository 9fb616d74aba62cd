"""The token endpoint's grants: form parameters in, an RFC 6749 §5.1 answer out.

Token exchange (RFC 8693) and JWT bearer (RFC 7523) run the one attest flow (``attest``, or
``b2b_attest`` with ``organization_id``), so a token consumed here is replayed on
``/v1/sessions/attest`` and the other way round. ``refresh_token`` is the session token, run
through ``authenticate_session``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from trusted_auth.attest import AttestRequest, attest, b2b_attest, record_malformed_attest
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, TrustedAuthError
from trusted_auth.internal.http import RequestContext
from trusted_auth.issuers.profile_lookup import profiles_for_token
from trusted_auth.oauth import errors
from trusted_auth.oauth.errors import OAuthError
from trusted_auth.oauth.metadata import JWT_BEARER, REFRESH_TOKEN, TOKEN_EXCHANGE, issuer
from trusted_auth.sessions.lifecycle import authenticate_session

TOKEN_TYPE = "urn:ietf:params:oauth:token-type:"
JWT_TOKEN_TYPE = TOKEN_TYPE + "jwt"
ACCESS_TOKEN_TYPE = TOKEN_TYPE + "access_token"
SUBJECT_TOKEN_TYPES = (JWT_TOKEN_TYPE, TOKEN_TYPE + "id_token", ACCESS_TOKEN_TYPE)
ISSUED_TOKEN_TYPES = (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE)


@dataclass
class GrantRequest:
    """One call of the token endpoint: its form parameters and who called."""

    params: Mapping[str, str]
    context: RequestContext

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise OAuthError(errors.INVALID_REQUEST, f"{name} is required")
        return value


def token_response(grant: GrantRequest) -> dict[str, Any]:
    """Run the grant named by ``grant_type``. Raises ``OAuthError`` (the §5.2 answer) or a
    dependency's ``ServiceUnavailable``; attest grants leave one audit event either way."""
    grant_type = grant.get("grant_type")
    if grant_type is None:
        raise OAuthError(errors.INVALID_REQUEST, "grant_type is required")
    if grant_type == REFRESH_TOKEN:
        return _refresh(grant)
    if grant_type in (TOKEN_EXCHANGE, JWT_BEARER):
        return _attest_grant(grant, grant_type)
    raise OAuthError(
        errors.UNSUPPORTED_GRANT_TYPE,
        f"grant_type must be one of {TOKEN_EXCHANGE}, {JWT_BEARER} or {REFRESH_TOKEN}",
    )


def _attest_grant(grant: GrantRequest, grant_type: str) -> dict[str, Any]:
    b2b = grant.get("organization_id") is not None
    action = "b2b_attest" if b2b else "attest"
    try:
        token, issued_type = _check_attest_parameters(grant, grant_type)
        profile_id = grant.get("profile_id") or _profile_for(token)
        request = AttestRequest(
            profile_id=profile_id,
            token=token,
            session_duration_minutes=_minutes(grant.get("session_duration_minutes")),
            organization_id=grant.get("organization_id"),
            context=grant.context,
            via="oauth",
        )
    except OAuthError as error:
        # Refused before the flow ran: still one audited attest.
        record_malformed_attest(
            grant.get("profile_id"),
            grant.context,
            BadRequest(error.description),
            action=action,
            via="oauth",
        )
        raise
    try:
        result = (b2b_attest if b2b else attest)(request)
    except TrustedAuthError as error:
        raise errors.oauth_error(error) from error
    answer = _bearer_answer(result.session_jwt, result.session_token)
    if grant_type == TOKEN_EXCHANGE:
        answer["issued_token_type"] = issued_type
    return answer


def _check_attest_parameters(grant: GrantRequest, grant_type: str) -> tuple[str, str]:
    """The external token and the issued token type; refuses what this server cannot honour."""
    if grant.get("scope") is not None:
        raise OAuthError(errors.INVALID_SCOPE, "this server grants no scopes: leave scope out")
    if grant_type == JWT_BEARER:
        return grant.require("assertion"), ACCESS_TOKEN_TYPE
    token = grant.require("subject_token")
    subject_type = grant.require("subject_token_type")
    if subject_type not in SUBJECT_TOKEN_TYPES:
        raise OAuthError(
            errors.INVALID_REQUEST,
            f"subject_token_type must be one of {', '.join(SUBJECT_TOKEN_TYPES)}",
        )
    if grant.get("actor_token") is not None:
        raise OAuthError(errors.INVALID_REQUEST, "delegation (actor_token) is not supported")
    requested = grant.get("requested_token_type") or ACCESS_TOKEN_TYPE
    if requested not in ISSUED_TOKEN_TYPES:
        raise OAuthError(
            errors.INVALID_REQUEST,
            f"requested_token_type must be one of {', '.join(ISSUED_TOKEN_TYPES)}",
        )
    for name, ours in (
        ("audience", trusted_auth_settings.PROJECT_ID),
        ("resource", issuer()),
    ):
        targets = grant.params.getlist(name) if hasattr(grant.params, "getlist") else []
        if any(target != ours for target in targets):
            raise OAuthError(
                errors.INVALID_TARGET,
                f"this server issues tokens for one {name} only: {ours}",
            )
    return token, requested


def _profile_for(token: str) -> str:
    """The profile the token's issuer (and audience) names: exactly one, or the client must
    say which with ``profile_id``."""
    profiles = profiles_for_token(token)
    if len(profiles) != 1:
        found = "no profile trusts" if not profiles else "several profiles trust"
        raise OAuthError(
            errors.INVALID_REQUEST,
            f"{found} the token's issuer and audience: pass profile_id to name the profile",
        )
    return profiles[0].profile_id


def _minutes(value: str | None) -> object:
    """``session_duration_minutes`` (an extension parameter) as the flow expects it; default
    ``OAUTH_SESSION_MINUTES``, since a token endpoint always answers with a session."""
    if value is None:
        return trusted_auth_settings.OAUTH_SESSION_MINUTES
    return int(value) if value.isdigit() and len(value) < 10 else value


def _refresh(grant: GrantRequest) -> dict[str, Any]:
    if grant.get("scope") is not None:
        raise OAuthError(errors.INVALID_SCOPE, "this server grants no scopes: leave scope out")
    session_token = grant.require("refresh_token")
    try:
        result = authenticate_session(session_token=session_token, member=None)
    except TrustedAuthError as error:
        raise errors.oauth_error(error) from error
    return _bearer_answer(result.session_jwt, result.session_token)


def _bearer_answer(session_jwt: str, session_token: str) -> dict[str, Any]:
    """RFC 6749 §5.1: the session JWT as a Bearer access token, the session token to refresh
    it; ``expires_in`` counts to the JWT's ``exp``. No ``scope``: none applies."""
    expires = jwt.decode(session_jwt, options={"verify_signature": False})["exp"]
    return {
        "access_token": session_jwt,
        "token_type": "Bearer",
        "expires_in": max(0, int(expires - time.time())),
        "refresh_token": session_token,
    }
