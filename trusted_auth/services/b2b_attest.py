"""B2B attest: verify an external token, open (or extend) a member session in one organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from trusted_auth.errors import TrustedAuthError
from trusted_auth.models import Member, Organization, Session

from . import sessions
from .attest import AttestRequest, run_audited, validate_attest_request
from .audit import AttestFacts
from .organizations import resolve_member, resolve_organization, validate_roles
from .profile_cache import profile_for_attest
from .session_jwt import issue_session_jwt
from .verification import consume_external_token, verify_external_token

DEFAULT_B2B_SESSION_MINUTES = 60


@dataclass
class B2BAttestRequest(AttestRequest):
    organization_id: Any = None


@dataclass
class B2BAttestResult:
    member: Member
    organization: Organization
    session: Session
    session_token: str
    session_jwt: str


def _attest(request: B2BAttestRequest, facts: AttestFacts) -> B2BAttestResult:
    minutes, custom_claims = validate_attest_request(request)
    profile = facts.profile = profile_for_attest(request.profile_id)
    attaching = request.session_token is not None or request.session_jwt is not None
    if attaching:
        existing = sessions.find_live_session(
            session_token=request.session_token, session_jwt=request.session_jwt
        )
        if existing.member_id is None:
            raise TrustedAuthError(
                "that session is not a member session",
                error_type="session_not_found",
                status_code=404,
            )
    # As in consumer attest: when attaching, the token is used up only once the session is
    # known to be this member's, in this organization.
    verified = verify_external_token(profile, request.token, consume=not attaching)
    facts.token_id = verified.attributes["token_id"]
    facts.subject = str(verified.claims.get("sub", ""))[:256]
    roles = validate_roles(verified.attributes.get("role_ids", []))
    # One transaction from here: a refused attest (member not found or not allowed, another
    # member's session…) leaves no JIT-created organization or member behind.
    with transaction.atomic():
        organization = resolve_organization(
            profile, request.organization_id, verified.attributes.get("organization_id")
        )
        facts.organization_id = organization.organization_id
        member = resolve_member(profile, organization, verified.attributes)
        facts.user_id = member.member_id
        if attaching:
            session = sessions.find_live_session(
                session_token=request.session_token,
                session_jwt=request.session_jwt,
                for_update=True,
            )
            if session.member_id != member.pk or session.organization_id != organization.pk:
                raise TrustedAuthError(
                    "the session belongs to a different member or organization than the token",
                    error_type="session_user_mismatch",
                )
            sessions.add_factor(
                session, token_id=facts.token_id, minutes=minutes, custom_claims=custom_claims
            )
            consume_external_token(profile, request.token, verified.claims)
            session_token = request.session_token or ""
        else:
            session, session_token = sessions.start_session(
                member=member,
                organization=organization,
                profile=profile,
                token_id=facts.token_id,
                minutes=minutes or DEFAULT_B2B_SESSION_MINUTES,
                custom_claims=custom_claims,
                roles=roles or list(member.roles),
                ip_address=request.context.ip_address,
                user_agent=request.context.user_agent,
            )
    return B2BAttestResult(
        member=member,
        organization=organization,
        session=session,
        session_token=session_token,
        session_jwt=issue_session_jwt(session, member.member_id),
    )


def b2b_attest(request: B2BAttestRequest) -> B2BAttestResult:
    """Attest ``request.token`` for a member of one organization; always audited.

    Without ``session_duration_minutes`` a 60-minute session is started.
    """
    return run_audited("b2b_attest", request, _attest, lambda result: result.member.django_user)
