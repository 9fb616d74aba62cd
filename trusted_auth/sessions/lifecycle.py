"""The rest of a session's life: authenticate (and extend), revoke, list, clear expired.

Consumer and B2B share these functions; ``member`` selects the kind. A consumer endpoint never
sees a member session and the other way round: the wrong kind is ``session_not_found``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from trusted_auth.audit.maintenance import delete_in_batches
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, SessionNotFound, TrustedAuthError
from trusted_auth.models import ConsumedToken, Session
from trusted_auth.rbac.roles import current_roles
from trusted_auth.sessions import sessions
from trusted_auth.sessions.session_jwt import issue_session_jwt, session_id_from_jwt


@dataclass
class AuthenticatedSession:
    session: Session
    session_token: str
    session_jwt: str


def _one_credential(session_token: Any, session_jwt: Any) -> None:
    if session_token is not None and session_jwt is not None:
        raise TrustedAuthError(
            "pass session_token or session_jwt, not both", error_type="too_many_session_arguments"
        )
    if session_token is None and session_jwt is None:
        raise BadRequest("session_token or session_jwt is required")


def _check_kind(session: Session, member: bool | None) -> Session:
    if member is not None and (session.member_id is not None) != member:
        raise SessionNotFound("no live session for these credentials")
    return session


def subject_of(session: Session) -> str:
    """The ``sub`` of a session's JWTs: the member id or the consumer user id."""
    if session.member is not None:
        return session.member.member_id
    assert session.user is not None, "a session belongs to a user or a member"
    return session.user.trusted_auth_identity.user_id


def _touch_interval() -> timedelta:
    """How stale ``last_accessed_at`` may get before authenticate writes it: the idle timeout
    then ends a session between 3/4 of its length and its length after the last use."""
    seconds = float(trusted_auth_settings.SESSION_TOUCH_SECONDS)
    idle = trusted_auth_settings.SESSION_IDLE_TIMEOUT_SECONDS
    if idle:
        seconds = min(seconds, idle / 4)
    return timedelta(seconds=seconds)


def record_use(session: Session) -> None:
    """Record a use of a live session (authenticate, the bearer class, the browser flow): one
    UPDATE in autocommit when the recorded one is older than the touch interval, so the common
    use is reads only and no transaction (no SQLite write lock)."""
    now = timezone.now()
    if now - session.last_accessed_at < _touch_interval():
        return
    Session.objects.filter(pk=session.pk, last_accessed_at__lt=now).update(last_accessed_at=now)
    session.last_accessed_at = now


# --- roles: a change to the member, organization, policy or profile reaches a live session on
# its next authenticate or session-token use (``rbac.roles.current_roles``).


def refresh_roles(session: Session) -> None:
    """Bring ``session.roles`` up to date: one UPDATE (in autocommit, like ``record_use``) when
    they changed, none otherwise. A session JWT signed before keeps its roles until it expires."""
    roles = current_roles(session)
    if roles != session.roles:
        Session.objects.filter(pk=session.pk).update(roles=roles)
        session.roles = roles


def authenticate_session(
    *,
    session_token: Any = None,
    session_jwt: Any = None,
    session_duration_minutes: Any = None,
    session_custom_claims: Any = None,
    member: bool | None = False,
) -> AuthenticatedSession:
    """Check a session is live (``sessions.why_not_live``), record the use, bring its roles up
    to date (``refresh_roles``), extend it or update its custom claims when asked (on the row
    locked for update), and return a fresh session JWT.

    A ``session_jwt`` past its ``exp`` is accepted while its signature is valid and the session
    lives. Raises ``SessionNotFound`` for revoked, expired, idle or unknown sessions, and for
    a session of the other kind (``member=None``: either kind, as OAuth's refresh grant asks).
    """
    _one_credential(session_token, session_jwt)
    minutes = sessions.validate_duration(session_duration_minutes)
    claims = sessions.validate_custom_claims(session_custom_claims)
    if minutes is None and not claims:
        try:
            session = _check_kind(
                sessions.find_live_session(session_token=session_token, session_jwt=session_jwt),
                member,
            )
        except sessions.SessionIdledOut:
            pass  # ended for good below, on the locked row
        else:
            record_use(session)
            refresh_roles(session)
            sessions.send_session_refreshed(session, reason="authenticate", extended=False)
            return _authenticated(session, session_token)
    idled_out: sessions.SessionIdledOut | None = None
    with transaction.atomic():
        try:
            session = _check_kind(
                sessions.find_live_session(
                    session_token=session_token, session_jwt=session_jwt, for_update=True
                ),
                member,
            )
        except sessions.SessionIdledOut as error:
            # Committed before we refuse, so the idle session stays ended.
            idled_out = error
            session = _check_kind(error.session, member)
            session.revoked_at = timezone.now()
            session.save(update_fields=["revoked_at"])
            sessions.send_session_revoked([session.session_id], reason="idle_timeout")
        else:
            now = timezone.now()
            session.last_accessed_at = now
            if minutes is not None:
                session.expires_at = now + timedelta(minutes=minutes)
            session.custom_claims = sessions.merge_custom_claims(session.custom_claims, claims)
            session.roles = current_roles(session)
            session.save(update_fields=["last_accessed_at", "expires_at", "custom_claims", "roles"])
            sessions.send_session_refreshed(
                session, reason="authenticate", extended=minutes is not None
            )
    if idled_out is not None:
        raise idled_out
    return _authenticated(session, session_token)


def _authenticated(session: Session, session_token: Any) -> AuthenticatedSession:
    return AuthenticatedSession(
        session=session,
        session_token=session_token or "",
        session_jwt=issue_session_jwt(session, subject_of(session), reuse=True),
    )


def revoke_sessions(
    *,
    session_id: Any = None,
    session_token: Any = None,
    session_jwt: Any = None,
    member_id: Any = None,
    member: bool | None = False,
) -> int:
    """Revoke one session (by id, token or JWT) or, B2B only, every session of a member.

    Returns how many sessions were revoked. Exactly one argument must be given. ``member=None``
    revokes a session of either kind (OAuth revocation).
    """
    given = [v for v in (session_id, session_token, session_jwt, member_id) if v is not None]
    if len(given) != 1:
        raise BadRequest(
            "pass exactly one of session_id, session_token, session_jwt"
            + (", member_id" if member else "")
        )
    queryset = Session.objects.filter(revoked_at__isnull=True)
    if member is not None:
        queryset = queryset.filter(member__isnull=not member)
    if member_id is not None:
        if not member:
            raise BadRequest("member_id is a B2B argument")
        queryset = queryset.filter(member__member_id=member_id)
    elif session_id is not None:
        queryset = queryset.filter(session_id=session_id)
    elif session_token is not None:
        queryset = queryset.filter(token_digest=sessions.token_digest(str(session_token)))
    else:
        queryset = queryset.filter(session_id=session_id_from_jwt(session_jwt))
    with transaction.atomic():
        # The ids first (locked where the database can), so session_revoked names exactly the
        # sessions this call revoked.
        revoked_ids = list(
            queryset.select_for_update(of=("self",)).values_list("session_id", flat=True)
        )
        revoked = Session.objects.filter(
            session_id__in=revoked_ids, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        sessions.send_session_revoked(revoked_ids, reason="revoked")
    if revoked == 0 and member_id is None:
        raise SessionNotFound("no live session for these credentials")
    return revoked


def live_sessions(
    *, user_id: Any = None, organization_id: Any = None, member_id: Any = None
) -> list[Session]:
    """Live consumer sessions of a user, or live member sessions of a member in an organization
    (``sessions.live_session_queryset``)."""
    queryset = sessions.live_session_queryset().select_related(
        "user__trusted_auth_identity", "member", "organization"
    )
    if any(isinstance(i, str) and "\x00" in i for i in (user_id, organization_id, member_id)):
        return []  # no id holds a NUL, and PostgreSQL refuses to compare one
    if user_id is not None:
        if not isinstance(user_id, str) or not user_id:
            raise BadRequest("user_id is required")
        return list(queryset.filter(user__trusted_auth_identity__user_id=user_id))
    if not organization_id or not member_id:
        raise BadRequest("organization_id and member_id are required")
    return list(
        queryset.filter(organization__organization_id=organization_id, member__member_id=member_id)
    )


def clear_expired_sessions(batch_size: int = 1000) -> int:
    """Delete sessions past their absolute expiry, ``batch_size`` rows per statement. Revoked
    sessions are kept until they expire, so the admin can still show who revoked what."""
    return delete_in_batches(Session.objects.filter(expires_at__lte=timezone.now()), batch_size)


def clear_expired_consumed_tokens(batch_size: int = 1000) -> int:
    """Delete the replay records of tokens past their ``exp`` plus leeway: they can no longer
    verify, so their rows protect nothing."""
    return delete_in_batches(
        ConsumedToken.objects.filter(expires_at__lte=timezone.now()), batch_size
    )
