"""Sessions: start one, find one by token or JWT, add a factor, apply custom claims."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from trusted_auth import ids, signals
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, SessionNotFound, TrustedAuthError
from trusted_auth.identities.links import DELETED, member_is_out, user_is_out
from trusted_auth.internal.rows import referenced, row_by
from trusted_auth.models import (
    Member,
    Organization,
    Session,
    TrustedAuthTokenProfile,
    UserIdentity,
)
from trusted_auth.sessions.session_jwt import session_id_from_jwt
from trusted_auth.timeutil import rfc3339

MIN_SESSION_MINUTES = 5
MAX_SESSION_MINUTES = 527040
MAX_CUSTOM_CLAIMS_BYTES = 4096
# Deeper values parse, but every later json.dumps/loads (the database column, the session JWT)
# recurses once per level: near Python's recursion limit that would be a 500.
MAX_CUSTOM_CLAIMS_DEPTH = 32
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
RESERVED_CLAIM_PREFIX = "https://stytch.com/"


def token_digest(session_token: str) -> str:
    return hashlib.sha256(session_token.encode()).hexdigest()


def new_session_token() -> str:
    """A session token with 256 bits from ``secrets``; only its digest is ever stored."""
    return secrets.token_urlsafe(32)


def validate_duration(minutes: Any) -> int | None:
    if minutes is None:
        return None
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not MIN_SESSION_MINUTES <= minutes <= MAX_SESSION_MINUTES
    ):
        raise TrustedAuthError(
            f"session_duration_minutes must be an integer from {MIN_SESSION_MINUTES} "
            f"to {MAX_SESSION_MINUTES}",
            error_type="invalid_session_duration_minutes",
        )
    return minutes


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _contains_nul(value: Any) -> bool:
    """Whether a NUL appears in any string, key or value, of a JSON value (PostgreSQL's jsonb
    refuses ``\\u0000``). Call it on values already known to be shallow."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def validate_custom_claims(claims: Any) -> dict[str, Any] | None:
    """Check ``session_custom_claims``: an object, no reserved names, at most 4 KiB of JSON
    nested at most 32 levels."""
    if claims is None:
        return None
    if not isinstance(claims, dict):
        raise BadRequest("session_custom_claims must be a JSON object")
    if json_depth(claims) > MAX_CUSTOM_CLAIMS_DEPTH:
        raise BadRequest(
            f"session_custom_claims is nested deeper than {MAX_CUSTOM_CLAIMS_DEPTH} levels"
        )
    if _contains_nul(claims):
        raise BadRequest("session_custom_claims must not contain NUL characters")
    reserved = sorted(
        k for k in claims if k in RESERVED_CLAIMS or k.startswith(RESERVED_CLAIM_PREFIX)
    )
    if reserved:
        raise TrustedAuthError(
            f"session_custom_claims uses reserved claims: {', '.join(reserved)[:200]}",
            error_type="reserved_claims_in_custom_claims",
        )
    if len(json.dumps(claims, separators=(",", ":")).encode()) > MAX_CUSTOM_CLAIMS_BYTES:
        raise TrustedAuthError(
            f"session_custom_claims is larger than {MAX_CUSTOM_CLAIMS_BYTES} bytes",
            error_type="custom_claims_too_large",
        )
    return claims


def merge_custom_claims(current: dict[str, Any], update: dict[str, Any] | None) -> dict[str, Any]:
    """Apply an update: a value sets a key, ``null`` deletes it; the result is size-checked."""
    if not update:
        return current
    merged = {**current, **{k: v for k, v in update.items() if v is not None}}
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
    validate_custom_claims(merged)
    return merged


class SessionIdledOut(SessionNotFound):
    """``find_live_session`` found the session, but unused past the idle timeout: refused like
    any session that is not live; ``authenticate`` also ends it for good (``session``)."""

    def __init__(self, session: Session) -> None:
        super().__init__("the session was idle for too long")
        self.session = session


def idle_cutoff(now: datetime) -> datetime | None:
    """Sessions last used before this are idle-expired; None when no idle timeout is set."""
    idle = trusted_auth_settings.SESSION_IDLE_TIMEOUT_SECONDS
    return now - timedelta(seconds=idle) if idle else None


def why_not_live(session: Session, *, now: datetime | None = None) -> str | None:
    """The liveness rule for one row: why ``session`` may not be used (``"revoked"``,
    ``"expired"``, ``"owner_out"``, ``"idle"``), or None when it is live.

    A session is live when it is not revoked, before its absolute expiry, used within the idle
    timeout (``SESSION_IDLE_TIMEOUT_SECONDS``), and its user or member is not out (an inactive
    Django user, a deleted identity or member). ``live_session_queryset`` is the same rule in
    SQL; ``tests/test_session_liveness.py`` holds the two equal.
    """
    now = now or timezone.now()
    if session.revoked_at is not None:
        return "revoked"
    if session.expires_at <= now:
        return "expired"
    if owner_is_out(session):
        return "owner_out"
    cutoff = idle_cutoff(now)
    if cutoff is not None and session.last_accessed_at < cutoff:
        return "idle"
    return None


def session_is_live(session: Session, *, now: datetime | None = None) -> bool:
    """Whether ``session`` may be used: authenticate, attach, the lists, the bearer class, the
    browser flow and token introspection all ask this (see ``why_not_live``)."""
    return why_not_live(session, now=now) is None


def live_session_queryset(
    queryset: QuerySet[Session] | None = None, *, now: datetime | None = None
) -> QuerySet[Session]:
    """``queryset`` (default: every session) narrowed to the live ones: ``why_not_live`` as a
    filter, so a list shows exactly the sessions that authenticate would accept."""
    now = now or timezone.now()
    rule = Q(revoked_at__isnull=True, expires_at__gt=now)
    cutoff = idle_cutoff(now)
    if cutoff is not None:
        rule &= Q(last_accessed_at__gte=cutoff)
    owner_out = (
        Q(user__is_active=False)
        | Q(user__trusted_auth_identity__status=DELETED)
        | Q(member__status=DELETED)
        | Q(member__django_user__is_active=False)
    )
    return (Session.objects.all() if queryset is None else queryset).filter(rule).exclude(owner_out)


def session_with_owner_query() -> QuerySet[Session]:
    """Sessions with what using one needs loaded: the user and its identity (the JWT subject),
    or the member, its Django user and organization, and the session's organization.

    ``for_update`` in ``find_live_session`` locks the session row only: PostgreSQL refuses
    FOR UPDATE on the nullable side of these outer joins (user or member is always null).
    """
    return Session.objects.select_related(
        "user__trusted_auth_identity", "member__django_user", "member__organization", "organization"
    )


def session_with_owner(**lookup: str) -> Session | None:
    """``session_with_owner_query().filter(**lookup).first()`` (``lookup``: a ``token_digest``
    or a ``session_id``), read with one plain SELECT per row where the ORM would compile its
    join again on every authenticate (bench/README.md, issue 27).
    ``tests/test_session_lookup.py`` holds the two equal. An owner deleted between the reads
    (the cascade takes the session too) is an unknown session: None."""
    ((column, value),) = lookup.items()
    session = row_by(Session, value, column)
    if session is None:
        return None
    try:
        return _with_owner(session)
    except ObjectDoesNotExist:
        return None


def _with_owner(session: Session) -> Session:
    if session.member_id is None:
        session.user = referenced(get_user_model(), session.user_id)
        session.user.trusted_auth_identity = row_by(UserIdentity, session.user_id, "django_user_id")
        return session
    session.member = member = referenced(Member, session.member_id)
    member.organization = referenced(Organization, member.organization_id)
    if member.django_user_id is not None:
        member.django_user = referenced(get_user_model(), member.django_user_id)
    session.organization = (
        member.organization
        if session.organization_id == member.organization_id
        else referenced(Organization, session.organization_id)
    )
    return session


def find_live_session(
    *,
    session_token: Any = None,
    session_jwt: Any = None,
    session_id: Any = None,
    for_update: bool = False,
) -> Session:
    """The live session named by a session token, a session JWT or a session id (checked by
    ``why_not_live``), with its owner loaded. ``for_update`` locks the session row.

    Raises ``SessionNotFound`` for an unknown or dead session, ``SessionIdledOut`` (a
    ``SessionNotFound``) for one past the idle timeout.
    """
    if session_token is not None:
        if not isinstance(session_token, str) or not session_token:
            raise SessionNotFound("session_token is not valid")
        lookup = {"token_digest": token_digest(session_token)}
    elif session_jwt is not None:
        lookup = {"session_id": session_id_from_jwt(session_jwt)}
        if not isinstance(lookup["session_id"], str):
            raise SessionNotFound("session_jwt names no session")
    else:
        if not isinstance(session_id, str) or not session_id or "\x00" in session_id:
            raise SessionNotFound("session_id is not valid")
        lookup = {"session_id": session_id}
    if for_update:
        locked = session_with_owner_query().select_for_update(of=("self",))
        session = locked.filter(**lookup).first()
    else:
        session = session_with_owner(**lookup)
    if session is None:
        raise SessionNotFound("no live session for these credentials")
    reason = why_not_live(session)
    if reason == "idle":
        raise SessionIdledOut(session)
    if reason == "owner_out":
        raise SessionNotFound("the session's user or member is inactive or deleted")
    if reason is not None:
        raise SessionNotFound("no live session for these credentials")
    return session


def owner_is_out(session: Session) -> bool:
    """Whether a session's owner may no longer use it: an inactive Django user, a deleted
    identity or member (part of ``why_not_live``)."""
    if session.member is not None:
        return member_is_out(session.member)
    # The check constraint gives every session one owner.
    return session.user is None or user_is_out(session.user)


def trusted_token_factor(token_id: str) -> dict[str, Any]:
    now = rfc3339(timezone.now())
    return {
        "type": "trusted_auth_token",
        "delivery_method": "trusted_token_exchange",
        "trusted_auth_token_factor": {"token_id": token_id},
        "created_at": now,
        "updated_at": now,
        "last_authenticated_at": now,
    }


def new_session(
    *,
    profile: TrustedAuthTokenProfile,
    token_id: str,
    minutes: int,
    custom_claims: dict[str, Any] | None,
    roles: list[str],
    ip_address: str | None,
    user_agent: str,
    user=None,
    member: Member | None = None,
    organization: Organization | None = None,
) -> tuple[Session, str]:
    """A new consumer (``user``) or member (``member`` + ``organization``) session, not yet
    written: call it in the transaction that inserts it, whose commit sends ``session_started``.
    Returns it with its session token, shown once: only its digest is stored.
    """
    session_token = new_session_token()
    now = timezone.now()
    session = Session(
        session_id=ids.new_id(ids.MEMBER_SESSION if member else ids.SESSION),
        token_digest=token_digest(session_token),
        user=user,
        member=member,
        organization=organization,
        profile=profile,
        authentication_factors=[trusted_token_factor(token_id)],
        custom_claims=merge_custom_claims({}, custom_claims),
        roles=roles,
        ip_address=ip_address,
        user_agent=user_agent[:512],
        started_at=now,
        last_accessed_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    transaction.on_commit(
        lambda: signals.session_started.send(
            sender=Session, session=session, profile=profile, token_id=token_id
        )
    )
    return session, session_token


def start_session(**arguments: Any) -> tuple[Session, str]:
    """``new_session(**arguments)``, inserted."""
    with transaction.atomic():
        session, session_token = new_session(**arguments)
        session.save(force_insert=True)
        return session, session_token


def add_factor(
    session: Session, *, token_id: str, minutes: int | None, custom_claims: dict[str, Any] | None
) -> Session:
    """Attach a trusted token factor to an existing session, extending it when asked."""
    now = timezone.now()
    session.authentication_factors = [
        *session.authentication_factors,
        trusted_token_factor(token_id),
    ]
    session.custom_claims = merge_custom_claims(session.custom_claims, custom_claims)
    session.last_accessed_at = now
    if minutes is not None:
        session.expires_at = now + timedelta(minutes=minutes)
    session.save(
        update_fields=["authentication_factors", "custom_claims", "last_accessed_at", "expires_at"]
    )
    send_session_refreshed(session, reason="factor_added", extended=minutes is not None)
    return session


def send_session_refreshed(session: Session, *, reason: str, extended: bool) -> None:
    """``session_refreshed`` once the current transaction commits (see ``signals``)."""
    transaction.on_commit(
        lambda: signals.session_refreshed.send(
            sender=Session, session=session, reason=reason, extended=extended
        )
    )


def send_session_revoked(session_ids: list[str], *, reason: str) -> None:
    """``session_revoked`` once the current transaction commits, when any was revoked."""
    if session_ids:
        transaction.on_commit(
            lambda: signals.session_revoked.send(
                sender=Session, session_ids=session_ids, reason=reason
            )
        )
