"""Consumer attest: the token speaks for a Django user (and its ``UserIdentity``)."""

from __future__ import annotations

from typing import Any

from trusted_auth.adapter import DefaultTrustedAuthAdapter
from trusted_auth.attest.flow import AttestRequest, AttestResult, run_attest
from trusted_auth.identities.principal import Principal
from trusted_auth.models import Session, TrustedAuthTokenProfile


class ConsumerResolver:
    """Without ``session_duration_minutes`` (and no session to attach to) no session starts."""

    action = "attest"

    def session_minutes(self, requested: int | None) -> int | None:
        return requested

    def check_attachable(self, session: Session) -> None:
        """Any live session may be named; ``owns`` refuses another user's (or a member's)."""

    def resolve(
        self,
        adapter: DefaultTrustedAuthAdapter,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        request: AttestRequest,
    ) -> Principal:
        identity = adapter.resolve_user(profile, attributes)
        return Principal(
            public_id=identity.user_id,
            django_user=identity.django_user,
            identity=identity,
        )

    def owns(self, session: Session, principal: Principal) -> bool:
        user = principal.django_user
        return session.member_id is None and user is not None and session.user_id == user.pk

    def session_owner(self, principal: Principal) -> dict[str, Any]:
        return {"user": principal.django_user}


def attest(request: AttestRequest) -> AttestResult:
    """Attest ``request.token`` for a consumer user; every outcome writes an audit event.
    Attaching by ``session_jwt`` returns an empty ``session_token``: only its digest is stored."""
    return run_attest(request, ConsumerResolver())
