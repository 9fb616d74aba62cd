"""Consumer attest: verify an external token, resolve the user, start or extend a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from trusted_auth.errors import TrustedAuthError
from trusted_auth.models import Session, UserIdentity

from . import sessions
from .audit import AttestFacts, RequestContext, record_attest_failure, record_attest_success
from .identities import resolve_user
from .profile_cache import profile_for_attest
from .session_jwt import issue_session_jwt
from .verification import consume_external_token, verify_external_token


@dataclass
class AttestRequest:
    profile_id: Any
    token: Any
    session_duration_minutes: Any = None
    session_custom_claims: Any = None
    session_token: Any = None
    session_jwt: Any = None
    context: RequestContext = field(default_factory=RequestContext)


@dataclass
class AttestResult:
    identity: UserIdentity
    session: Session | None
    session_token: str
    session_jwt: str


def validate_attest_request(request: AttestRequest) -> tuple[int | None, dict[str, Any] | None]:
    if request.session_token is not None and request.session_jwt is not None:
        raise TrustedAuthError(
            "pass session_token or session_jwt, not both", error_type="too_many_session_arguments"
        )
    minutes = sessions.validate_duration(request.session_duration_minutes)
    claims = sessions.validate_custom_claims(request.session_custom_claims)
    return minutes, claims


def _attest(request: AttestRequest, facts: AttestFacts) -> AttestResult:
    minutes, custom_claims = validate_attest_request(request)
    profile = facts.profile = profile_for_attest(request.profile_id)
    attaching = request.session_token is not None or request.session_jwt is not None
    if attaching:
        # Resolve the session first, so a bad session argument does not use up the token.
        sessions.find_live_session(
            session_token=request.session_token, session_jwt=request.session_jwt
        )
    # When attaching, the token is marked as used only once the session is known to be the
    # user's: a wrong session argument leaves it usable.
    verified = verify_external_token(profile, request.token, consume=not attaching)
    facts.token_id = verified.attributes["token_id"]
    facts.subject = str(verified.claims.get("sub", ""))[:256]
    identity = resolve_user(profile, verified.attributes)
    facts.user_id = identity.user_id
    session, session_token = None, ""
    with transaction.atomic():
        if attaching:
            session = sessions.find_live_session(
                session_token=request.session_token,
                session_jwt=request.session_jwt,
                for_update=True,
            )
            if session.user_id != identity.django_user_id:
                raise TrustedAuthError(
                    "the session belongs to a different user than the token",
                    error_type="session_user_mismatch",
                )
            sessions.add_factor(
                session,
                token_id=verified.attributes["token_id"],
                minutes=minutes,
                custom_claims=custom_claims,
            )
            # Last, so a concurrent replay rolls the factor back with the transaction.
            consume_external_token(profile, request.token, verified.claims)
            session_token = request.session_token or ""
        elif minutes is not None:
            session, session_token = sessions.start_session(
                user=identity.django_user,
                profile=profile,
                token_id=verified.attributes["token_id"],
                minutes=minutes,
                custom_claims=custom_claims,
                roles=verified.attributes.get("role_ids", []),
                ip_address=request.context.ip_address,
                user_agent=request.context.user_agent,
            )
    session_jwt = issue_session_jwt(session, identity.user_id) if session else ""
    return AttestResult(
        identity=identity, session=session, session_token=session_token, session_jwt=session_jwt
    )


def requested_profile_id(profile_id: Any) -> str:
    return profile_id if isinstance(profile_id, str) else ""


def record_malformed_attest(
    profile_id: Any, context: RequestContext, error: TrustedAuthError, action: str = "attest"
) -> None:
    """Audit an attest refused before it could start: a body that is not a JSON object, a
    missing ``token``… It is still an attest that failed, so it leaves an event and a signal."""
    record_attest_failure(
        AttestFacts(action=action, requested_profile_id=requested_profile_id(profile_id)),
        context,
        error,
    )


def run_audited(action: str, request: AttestRequest, attest_once, user_of):
    """Run ``attest_once(request, facts)``; every outcome writes an audit event and a signal.

    ``facts`` is filled in as the attest learns things, so a failure is recorded with all
    that was known when it failed. ``user_of(result)`` is the Django user for the signal.
    """
    facts = AttestFacts(
        action=action, requested_profile_id=requested_profile_id(request.profile_id)
    )
    try:
        result = attest_once(request, facts)
    except TrustedAuthError as error:
        record_attest_failure(facts, request.context, error)
        raise
    record_attest_success(facts, request.context, user_of(result), result.session)
    return result


def attest(request: AttestRequest) -> AttestResult:
    """Attest ``request.token``; every outcome writes an audit event and sends a signal.

    Without ``session_duration_minutes`` and without an existing session, the token is verified
    and the user resolved, and no session is started (empty ``session_token``/``session_jwt``).
    Attaching by ``session_jwt`` returns an empty ``session_token``: we store only its digest.
    """
    return run_audited("attest", request, _attest, lambda result: result.identity.django_user)
