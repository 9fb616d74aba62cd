"""Audit events for changes to users, organizations and members made through the API or CLI.

Each change writes one ``AuditEvent`` (``action`` such as ``user_create``, ``member_delete``)
in the same transaction as the change itself, so the log never claims a change that rolled back.
"""

from __future__ import annotations

from trusted_auth.models import AuditEvent

from .audit import RequestContext


def record_change(
    action: str,
    *,
    user_id: str = "",
    organization_id: str = "",
    context: RequestContext | None = None,
) -> AuditEvent:
    """One successful management change: who it was about, and the client that asked."""
    context = context or RequestContext()
    return AuditEvent.objects.create(
        action=action,
        outcome=AuditEvent.Outcome.SUCCESS,
        user_id=user_id,
        organization_id=organization_id,
        ip_address=context.ip_address,
        user_agent=context.user_agent.replace("\x00", "")[:512],
    )
