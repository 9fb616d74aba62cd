"""B2B attest: the token speaks for a member of one organization."""

from __future__ import annotations

from typing import Any

from trusted_auth.adapter import DefaultTrustedAuthAdapter
from trusted_auth.attest.flow import AttestRequest, AttestResult, run_attest
from trusted_auth.errors import SessionNotFound
from trusted_auth.identities.organizations import resolve_organization
from trusted_auth.identities.principal import Principal
from trusted_auth.models import Session, TrustedAuthTokenProfile

DEFAULT_B2B_SESSION_MINUTES = 60


class MemberResolver:
    """Without ``session_duration_minutes`` a 60-minute member session starts."""

    action = "b2b_attest"

    def session_minutes(self, requested: int | None) -> int | None:
        return requested or DEFAULT_B2B_SESSION_MINUTES

    def check_attachable(self, session: Session) -> None:
        if session.member_id is None:
            raise SessionNotFound("that session is not a member session")

    def resolve(
        self,
        adapter: DefaultTrustedAuthAdapter,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        request: AttestRequest,
    ) -> Principal:
        # Inside the attest's transaction: a refused attest leaves no JIT organization behind.
        organization = resolve_organization(
            profile, request.organization_id, attributes.get("organization_id")
        )
        member = adapter.resolve_member(profile, organization, attributes)
        return Principal(
            public_id=member.member_id,
            django_user=member.django_user,
            member=member,
            organization=organization,
        )

    def owns(self, session: Session, principal: Principal) -> bool:
        assert principal.member is not None and principal.organization is not None
        return (
            session.member_id == principal.member.pk
            and session.organization_id == principal.organization.pk
        )

    def session_owner(self, principal: Principal) -> dict[str, Any]:
        return {"member": principal.member, "organization": principal.organization}


def b2b_attest(request: AttestRequest) -> AttestResult:
    """Attest ``request.token`` for a member of one organization; always audited."""
    return run_attest(request, MemberResolver())
