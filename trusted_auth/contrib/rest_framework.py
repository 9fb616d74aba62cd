"""DRF authentication for your own API: ``Authorization: Bearer <session_jwt or session_token>``.

A JWT is verified locally (a key retired anywhere is refused on the next request); a session
that is not live (``session_is_live``) is refused before its JWT expires only with
``BEARER_CHECK_REVOCATION``. A session token is always looked up. ``request.user`` loads lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.functional import SimpleLazyObject
from rest_framework import authentication, exceptions, permissions

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import SessionNotFound, TrustedAuthError
from trusted_auth.identities.links import member_is_out, user_is_out
from trusted_auth.models import Member, Session
from trusted_auth.rbac.checks import granting_roles
from trusted_auth.sessions.lifecycle import record_use, refresh_roles
from trusted_auth.sessions.session_jwt import ORGANIZATION_CLAIM, SESSION_CLAIM, verify_session_jwt
from trusted_auth.sessions.sessions import find_live_session


@dataclass(frozen=True)
class VerifiedSession:
    """A session proven by a locally verified session JWT (no database read)."""

    session_id: str
    subject: str
    organization_id: str | None
    roles: list[str]
    claims: dict[str, Any]


class MemberPrincipal:
    """``request.user`` for a member session whose member has no linked Django user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, member: Member) -> None:
        self.member = member
        self.member_id = member.member_id
        self.organization_id = member.organization.organization_id
        self.email = member.email
        self.pk = None

    def __str__(self) -> str:
        return self.email

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class _LazyAuthenticatedUser(SimpleLazyObject):
    # Answer without loading the user: authentication already proved it.
    is_authenticated = True
    is_anonymous = False


def _user_for_subject(subject: str):
    """Load the principal of a locally verified JWT (runs on first use of ``request.user``)."""
    try:
        if subject.startswith("member-"):
            member = Member.objects.select_related("organization", "django_user").get(
                member_id=subject
            )
            out = member_is_out(member)
            principal = member.django_user or MemberPrincipal(member)
        else:
            principal = (
                get_user_model()
                ._default_manager.select_related("trusted_auth_identity")
                .get(trusted_auth_identity__user_id=subject)
            )
            out = user_is_out(principal)
    except (Member.DoesNotExist, get_user_model().DoesNotExist) as e:
        # Raised inside the view; DRF answers it as a 401 like any authentication failure.
        raise exceptions.AuthenticationFailed("the session's user no longer exists") from e
    if out:
        raise exceptions.AuthenticationFailed("the session's user is inactive or deleted")
    return principal


def _authenticated(session: Session):
    """``(user, session)`` for a live session looked up by token or id, its use recorded and
    its roles brought up to date."""
    record_use(session)
    refresh_roles(session)
    if session.member is not None:
        return session.member.django_user or MemberPrincipal(session.member), session
    return session.user, session


class BearerSessionAuthentication(authentication.BaseAuthentication):
    """Authenticate API requests with a trusted_auth session JWT or session token."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Bearer header must carry one credential")
        try:
            credential = header[1].decode("ascii")
        except UnicodeDecodeError as e:
            raise exceptions.AuthenticationFailed("invalid bearer credential") from e
        if credential.count(".") == 2:
            return self._authenticate_jwt(credential)
        return self._authenticate_token(credential)

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'

    def _authenticate_token(self, token: str):
        try:
            session = find_live_session(session_token=token)
        except TrustedAuthError as e:
            raise exceptions.AuthenticationFailed(e.message) from e
        return _authenticated(session)

    def _authenticate_jwt(self, token: str):
        try:
            claims = verify_session_jwt(token)
        except SessionNotFound as e:
            raise exceptions.AuthenticationFailed("invalid or expired session JWT") from e
        session_claim = claims[SESSION_CLAIM]
        session_id = session_claim["id"]
        if trusted_auth_settings.BEARER_CHECK_REVOCATION:
            try:
                session = find_live_session(session_id=session_id)
            except SessionNotFound as e:
                raise exceptions.AuthenticationFailed(
                    "the session was revoked or has expired"
                ) from e
            return _authenticated(session)
        organization = claims.get(ORGANIZATION_CLAIM) or {}
        subject = claims["sub"]
        verified = VerifiedSession(
            session_id=session_id,
            subject=subject,
            organization_id=organization.get("organization_id"),
            roles=list(session_claim.get("roles") or []),
            claims=claims,
        )
        return _LazyAuthenticatedUser(lambda: _user_for_subject(subject)), verified


# --- permissions (RBAC) ------------------------------------------------------------------------


def session_roles_of(auth: Any) -> tuple[list[str], str | None] | None:
    """``(roles, organization_id)`` of what ``BearerSessionAuthentication`` put in
    ``request.auth`` (a ``Session`` or a ``VerifiedSession``), or None for anything else."""
    if isinstance(auth, VerifiedSession):
        return auth.roles, auth.organization_id
    if isinstance(auth, Session):
        organization = auth.organization
        return list(auth.roles), organization.organization_id if organization else None
    return None


class HasPermission(permissions.BasePermission):
    """``permission_classes = [HasPermission("documents", "write")]``: the trusted session
    (``BearerSessionAuthentication``) holds a role the policy lets take ``action`` on
    ``resource_id``; else 403 (401 unauthenticated). A session JWT's roles are its claim until it
    expires (at most 5 minutes) unless ``BEARER_CHECK_REVOCATION``; a token's are current."""

    message = "the session holds no role that grants this permission"

    def __init__(self, resource_id: str, action: str) -> None:
        self.resource_id = resource_id
        self.action = action

    def __call__(self) -> HasPermission:
        # DRF instantiates each entry of ``permission_classes``; this one is configured already.
        return self

    def has_permission(self, request, view) -> bool:
        found = session_roles_of(request.auth)
        if found is None:
            return False
        roles, organization_id = found
        return bool(granting_roles(roles, self.resource_id, self.action, organization_id))
