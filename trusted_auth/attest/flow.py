"""The one attest flow, consumer and B2B alike: verify the token outside any transaction
(a JWKS fetch may happen there), then resolve the principal and write the consumed-token row,
the session or factor and the success event in one transaction.

A token is consumed exactly when its session commits; a crash leaves it retryable, and a replay
fails on the consumed token's unique key (``trusted_token_replayed``). The session JWT is signed
after the commit, holding no write lock. Every attest leaves exactly one audit event: failures
are written after the rollback, and a dependency outage answers 503.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import IntegrityError, transaction

from trusted_auth.adapter import DefaultTrustedAuthAdapter, get_adapter
from trusted_auth.audit.events import AttestFacts, attest_success_event, record_attest_failure
from trusted_auth.errors import (
    ProfileNotFound,
    TrustedAuthError,
    UnexpectedError,
)
from trusted_auth.identities.principal import Principal
from trusted_auth.internal.dependencies import (
    input_error,
    is_dependency_error,
    service_unavailable,
)
from trusted_auth.internal.http import RequestContext
from trusted_auth.issuers.profile_lookup import profile_for_attest
from trusted_auth.issuers.verification import (
    consumed_token_row,
    token_replayed,
    verify_external_token,
    was_consumed,
)
from trusted_auth.models import (
    Member,
    Organization,
    Session,
    TrustedAuthTokenProfile,
    UserIdentity,
)
from trusted_auth.rbac.roles import session_roles
from trusted_auth.sessions import sessions
from trusted_auth.sessions.session_jwt import issue_session_jwt
from trusted_auth.sessions.signing_keys import current_signing_key, private_key

logger = logging.getLogger("trusted_auth.attest")


@dataclass
class AttestRequest:
    """An attest as the API, the browser flow or a host's code asks for it.

    Fields hold what the client sent (JSON values, not yet trusted); the flow validates each.
    ``organization_id`` is for B2B attests only.
    """

    profile_id: object
    token: object
    session_duration_minutes: object = None
    session_custom_claims: object = None
    session_token: object = None
    session_jwt: object = None
    organization_id: object = None
    context: RequestContext = field(default_factory=RequestContext)
    # The face that asked, recorded in the audit event: "api" (Stytch), "oauth" (token endpoint).
    via: str = "api"

    @property
    def attaching(self) -> bool:
        """Whether the token adds a factor to an existing session instead of starting one."""
        return self.session_token is not None or self.session_jwt is not None


@dataclass
class AttestResult:
    principal: Principal
    session: Session | None
    session_token: str
    session_jwt: str

    @property
    def identity(self) -> UserIdentity:
        assert self.principal.identity is not None
        return self.principal.identity

    @property
    def member(self) -> Member:
        assert self.principal.member is not None
        return self.principal.member

    @property
    def organization(self) -> Organization:
        assert self.principal.organization is not None
        return self.principal.organization


class PrincipalResolver(Protocol):
    """What differs between a consumer and a B2B attest; everything else is the flow's."""

    action: str  # the audit event's action

    def session_minutes(self, requested: int | None) -> int | None:
        """The session length to start, or None to start none."""

    def check_attachable(self, session: Session) -> None:
        """Refuse a session of the other kind before any work is done."""

    def resolve(
        self,
        adapter: DefaultTrustedAuthAdapter,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        request: AttestRequest,
    ) -> Principal:
        """The principal, found or created inside the attest's transaction."""

    def owns(self, session: Session, principal: Principal) -> bool:
        """Whether an existing session belongs to this principal."""

    def session_owner(self, principal: Principal) -> dict[str, Any]:
        """``sessions.new_session`` keyword arguments naming the owner."""


def _validate(request: AttestRequest) -> tuple[int | None, dict[str, Any] | None]:
    if request.session_token is not None and request.session_jwt is not None:
        raise TrustedAuthError(
            "pass session_token or session_jwt, not both", error_type="too_many_session_arguments"
        )
    minutes = sessions.validate_duration(request.session_duration_minutes)
    claims = sessions.validate_custom_claims(request.session_custom_claims)
    return minutes, claims


def _find_session(request: AttestRequest, *, for_update: bool = False) -> Session:
    return sessions.find_live_session(
        session_token=request.session_token, session_jwt=request.session_jwt, for_update=for_update
    )


def _attest(
    request: AttestRequest, resolver: PrincipalResolver, facts: AttestFacts
) -> AttestResult:
    requested_minutes, custom_claims = _validate(request)
    minutes = resolver.session_minutes(requested_minutes)
    profile = facts.profile = profile_for_attest(request.profile_id)
    if request.attaching:
        # Before any work: a wrong session argument is the error the client should see.
        resolver.check_attachable(_find_session(request))
    verified = verify_external_token(profile, request.token)
    attributes = verified.attributes
    facts.token_id = attributes["token_id"]
    facts.subject = str(verified.claims.get("sub", ""))[:256]
    adapter = get_adapter()
    signing_key = current_signing_key()
    private_key(signing_key)  # decrypted and parsed now, so signing cannot fail after the commit
    assert isinstance(request.token, str)  # verify_external_token refused anything else
    session: Session | None = None
    session_token = session_jwt = ""
    try:
        with transaction.atomic():
            principal = resolver.resolve(adapter, profile, attributes, request)
            principal.roles, token_roles, facts.dropped_roles = session_roles(
                profile, principal, attributes
            )
            facts.user_id = principal.public_id
            if principal.organization is not None:
                facts.organization_id = principal.organization.organization_id
            adapter.pre_sign_in(profile, attributes, principal)
            rows: list[Any] = [consumed_token_row(profile, request.token, verified.claims)]
            if request.attaching:
                session = _find_session(request, for_update=True)
                if not resolver.owns(session, principal):
                    raise TrustedAuthError(
                        "the session belongs to a different user or member than the token",
                        error_type="session_user_mismatch",
                    )
                sessions.add_factor(
                    session,
                    token_id=facts.token_id,
                    minutes=requested_minutes,
                    custom_claims=custom_claims,
                )
                if isinstance(request.session_token, str):
                    session_token = request.session_token
            elif minutes is not None:
                session, session_token = sessions.new_session(
                    **resolver.session_owner(principal),
                    profile=profile,
                    token_id=facts.token_id,
                    minutes=minutes,
                    custom_claims=custom_claims,
                    roles=principal.roles,
                    ip_address=request.context.ip_address,
                    user_agent=request.context.user_agent,
                )
                session.token_roles = token_roles
                rows.append(session)
            rows.append(
                attest_success_event(facts, request.context, principal.django_user, session)
            )
            for row in rows:
                if row is not None:
                    row.save(force_insert=True)
    except IntegrityError as error:
        # The consumed token's unique key, taken by another attest of this token (committed).
        if was_consumed(profile, request.token, verified.claims):
            raise token_replayed() from error
        raise
    if session is not None:
        session_jwt = issue_session_jwt(session, principal.public_id, key=signing_key)
    return AttestResult(
        principal=principal, session=session, session_token=session_token, session_jwt=session_jwt
    )


def _as_domain_error(error: Exception, facts: AttestFacts) -> TrustedAuthError | None:
    """The domain error an unexpected exception stands for, or None for a plain bug."""
    client_error = input_error(error)  # the database refused the request's own values
    if client_error is not None:
        return client_error
    if is_dependency_error(error):
        return service_unavailable(error)
    if isinstance(error, IntegrityError) and facts.profile is not None:
        # The profile was deleted while this attest ran: its rows could not commit.
        if not TrustedAuthTokenProfile.objects.filter(pk=facts.profile.pk).exists():
            facts.profile = None
            return ProfileNotFound("the profile was deleted")
    return None


def _record_failure(facts: AttestFacts, context: RequestContext, error: TrustedAuthError) -> None:
    """The failure event, written after the rollback; a database that is down loses it (logged)."""
    try:
        record_attest_failure(facts, context, error)
    except Exception:  # noqa: BLE001 - the client still gets its answer; the log keeps the fact
        logger.exception(
            "trusted_auth: could not write the failure audit event of a %s (%s)",
            facts.action,
            error.error_type,
        )


def run_attest(request: AttestRequest, resolver: PrincipalResolver) -> AttestResult:
    """Attest ``request`` for the kind ``resolver`` serves; every outcome writes one audit event.

    Raises the ``TrustedAuthError`` the client should see, ``ServiceUnavailable`` (503) for a
    dependency outage; any other exception is audited as ``internal_server_error`` and re-raised.
    """
    facts = AttestFacts(
        action=resolver.action,
        requested_profile_id=requested_profile_id(request.profile_id),
        via=request.via,
    )
    try:
        return _attest(request, resolver, facts)
    except TrustedAuthError as error:
        _record_failure(facts, request.context, error)
        raise
    except Exception as error:
        domain_error = _as_domain_error(error, facts)
        _record_failure(
            facts,
            request.context,
            domain_error or UnexpectedError(f"unexpected {type(error).__name__}"),
        )
        if domain_error is not None:
            raise domain_error from error
        raise


def requested_profile_id(profile_id: object) -> str:
    return profile_id if isinstance(profile_id, str) else ""


def record_malformed_attest(
    profile_id: object,
    context: RequestContext,
    error: TrustedAuthError,
    action: str = "attest",
    via: str = "api",
) -> None:
    """Audit an attest refused before it could start: a body that is not a JSON object, a
    missing ``token``… It is still an attest that failed, so it leaves an event and a signal."""
    _record_failure(
        AttestFacts(action=action, requested_profile_id=requested_profile_id(profile_id), via=via),
        context,
        error,
    )
