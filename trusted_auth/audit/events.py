"""Audit events: one row per attest, success or failure, and the matching signal."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from trusted_auth import signals
from trusted_auth.errors import TrustedAuthError
from trusted_auth.internal.http import RequestContext
from trusted_auth.models import AuditEvent, Session, TrustedAuthTokenProfile


@dataclass
class AttestFacts:
    """What an attest learned before it ended, whichever way it ended."""

    action: str = "attest"
    requested_profile_id: str = ""
    profile: TrustedAuthTokenProfile | None = None
    token_id: str = ""
    subject: str = ""
    user_id: str = ""
    organization_id: str = ""
    dropped_roles: list[str] = field(default_factory=list)  # named by the token, not granted
    via: str = "api"


def _text(value: str, limit: int) -> str:
    """A column-safe copy of text that may come from a client: PostgreSQL refuses NUL."""
    return value.replace("\x00", "")[:limit]


def _event(facts: AttestFacts, context: RequestContext, **fields) -> AuditEvent:
    """An attest's event, not yet written."""
    if "error_message" in fields:
        fields["error_message"] = _text(fields["error_message"], 500)
    return AuditEvent(
        action=facts.action,
        profile=facts.profile,
        requested_profile_id=_text(facts.requested_profile_id, 128),
        token_id=_text(facts.token_id, 256),
        subject=_text(facts.subject, 256),
        user_id=facts.user_id,
        organization_id=facts.organization_id,
        via=facts.via,
        ip_address=context.ip_address,
        user_agent=_text(context.user_agent, 512),
        **fields,
    )


def attest_success_event(
    facts: AttestFacts, context: RequestContext, user, session: Session | None
) -> AuditEvent:
    """The success event, for the attest to write in its transaction with the rows it commits;
    the signal follows the commit."""
    event = _event(
        facts,
        context,
        outcome=AuditEvent.Outcome.SUCCESS,
        session_id=session.session_id if session else "",
        error_message=(
            _text(f"roles not granted: {', '.join(facts.dropped_roles)}", 500)
            if facts.dropped_roles
            else ""
        ),
    )
    transaction.on_commit(
        lambda: signals.attest_succeeded.send(
            sender=AuditEvent, event=event, user=user, session=session
        )
    )
    return event


def record_attest_failure(
    facts: AttestFacts, context: RequestContext, error: TrustedAuthError
) -> AuditEvent:
    event = _event(
        facts,
        context,
        outcome=AuditEvent.Outcome.FAILURE,
        error_type=error.error_type,
        error_message=error.message,
    )
    event.save(force_insert=True)
    signals.attest_failed.send(sender=AuditEvent, event=event, error=error)
    return event
