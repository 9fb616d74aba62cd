"""Audit events for changes to users, organizations, members and identity links (API, CLI,
admin), written in the change's own transaction: the log never claims a change that rolled back.
"""

from __future__ import annotations

from trusted_auth.audit.events import RequestContext
from trusted_auth.models import AuditEvent


def record_change(
    action: str,
    *,
    user_id: str = "",
    organization_id: str = "",
    subject: str = "",
    detail: str = "",
    context: RequestContext | None = None,
) -> AuditEvent:
    """One successful management change: who it was about, and the client that asked.
    ``subject`` is an issuer's id for the account (identity links)."""
    context = context or RequestContext()
    return AuditEvent.objects.create(
        action=action,
        outcome=AuditEvent.Outcome.SUCCESS,
        user_id=user_id,
        organization_id=organization_id,
        subject=subject[:256],
        error_message=detail[:500],
        ip_address=context.ip_address,
        user_agent=context.user_agent.replace("\x00", "")[:512],
    )
