"""One JSON log line (logger ``trusted_auth.attest``) and one counter per attest, hung on the
attest signals. A line never holds the token, and the email only as a keyed hash unless
``LOG_EMAILS``; throttled attests are counted by the throttle, never logged one by one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils.crypto import salted_hmac

from trusted_auth import signals
from trusted_auth.audit import metrics
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.models import AuditEvent

attest_logger = logging.getLogger("trusted_auth.attest")
logger = logging.getLogger("trusted_auth")


def email_for_log(email: str) -> str:
    """The email as logged: in clear with ``LOG_EMAILS``, else ``hmac:`` and 16 hex digits of a
    hash keyed by ``SECRET_KEY`` (stable, so lines about one address can be correlated, but not
    reversible by hashing a list of addresses)."""
    if not email:
        return ""
    if trusted_auth_settings.LOG_EMAILS:
        return email
    digest = salted_hmac("trusted_auth.log_email", email.strip().lower(), algorithm="sha256")
    return "hmac:" + digest.hexdigest()[:16]


def attest_log_fields(event: AuditEvent, email: str = "") -> dict[str, Any]:
    return {
        "event": event.action,
        "outcome": event.outcome,
        "error_type": event.error_type,
        "error_message": event.error_message,
        "profile_id": event.profile.profile_id if event.profile else event.requested_profile_id,
        "token_id": event.token_id,
        "user_id": event.user_id,
        "organization_id": event.organization_id,
        "session_id": event.session_id,
        "ip": event.ip_address,
        "email": email_for_log(email),
        "audit_event_id": event.pk,
    }


def _observe(event: AuditEvent, email: str) -> None:
    try:
        metrics.increment(metrics.ATTESTS, outcome=event.outcome, error_type=event.error_type)
        fields = attest_log_fields(event, email)
        level = logging.INFO if event.outcome == AuditEvent.Outcome.SUCCESS else logging.WARNING
        attest_logger.log(level, json.dumps(fields, sort_keys=True), extra=fields)
    except Exception:  # noqa: BLE001 - observing an attest must never change its answer
        logger.warning("trusted_auth: could not log an attest", exc_info=True)


def on_attest_succeeded(sender: Any, event: AuditEvent, user: Any = None, **kwargs: Any) -> None:
    _observe(event, getattr(user, "email", "") or "")


def on_attest_failed(sender: Any, event: AuditEvent, **kwargs: Any) -> None:
    _observe(event, "")


def connect() -> None:
    """Connect the receivers (``AppConfig.ready``); idempotent."""
    signals.attest_succeeded.connect(
        on_attest_succeeded, dispatch_uid="trusted_auth.observability.succeeded"
    )
    signals.attest_failed.connect(
        on_attest_failed, dispatch_uid="trusted_auth.observability.failed"
    )
