"""Project API secrets for HTTP Basic auth: stored as SHA-256, several live at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets as std_secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from trusted_auth.audit.events import RequestContext
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, TrustedAuthError, Unauthorized
from trusted_auth.internal import generations
from trusted_auth.internal.cache import ProcessCache
from trusted_auth.models import ApiSecret, AuditEvent
from trusted_auth.timeutil import rfc3339

SECRET_PREFIX = "secret-"
# last_used_at is written at most this often per secret and process, so a request is no write.
LAST_USED_RESOLUTION_SECONDS = 60
# The audit action of a failed HTTP Basic attempt on the server API.
REJECTED_CREDENTIALS_ACTION = "api_credentials"


@dataclass
class CreatedSecret:
    secret: ApiSecret
    clear_text: str


logger = logging.getLogger("trusted_auth.secrets")


def _digest(clear_text: str) -> str:
    # The secret carries 256 random bits, so a fast hash is safe (nothing to brute-force).
    return hashlib.sha256(clear_text.encode()).hexdigest()


def create_secret(description: str = "") -> CreatedSecret:
    """A new live secret; its clear text is returned here and never again."""
    clear_text = SECRET_PREFIX + std_secrets.token_urlsafe(32)
    secret = ApiSecret.objects.create(
        digest=_digest(clear_text), last_four=clear_text[-4:], description=description[:200]
    )
    logger.info("API secret %s created", secret.secret_id, extra={"secret_id": secret.secret_id})
    return CreatedSecret(secret=secret, clear_text=clear_text)


def list_secrets() -> list[ApiSecret]:
    """Every secret, newest first, live and revoked."""
    return list(ApiSecret.objects.order_by("-created_at", "-id"))


def has_live_secret() -> bool:
    return ApiSecret.objects.filter(revoked_at__isnull=True).exists()


def secret_as_dict(secret: ApiSecret) -> dict[str, Any]:
    """A secret as plain data: never its clear text or digest."""
    return {
        "secret_id": secret.secret_id,
        "last_four": secret.last_four,
        "description": secret.description,
        "created_at": rfc3339(secret.created_at),
        "last_used_at": rfc3339(secret.last_used_at),
        "revoked_at": rfc3339(secret.revoked_at),
    }


def revoke_secret(secret_id: str) -> ApiSecret:
    """Revoke a secret (idempotent): it stops authenticating at once."""
    secret = ApiSecret.objects.filter(secret_id=secret_id).first()
    if secret is None:
        raise TrustedAuthError(
            f"no API secret {secret_id!r}", error_type="secret_not_found", status_code=404
        )
    if secret.revoked_at is None:
        secret.revoked_at = timezone.now()
        secret.save(update_fields=["revoked_at"])
        logger.info("API secret %s revoked", secret_id, extra={"secret_id": secret_id})
    return secret


def _pending_rotation() -> ApiSecret | None:
    return (
        ApiSecret.objects.select_related("replaces")
        .filter(replaces__isnull=False, revoked_at__isnull=True)
        .first()
    )


def rotate_start(secret_id: str | None = None) -> CreatedSecret:
    """Stytch's M2M pattern, step 1: a second secret, valid beside the one it will replace
    (without ``secret_id``, the only live secret). Then ``rotate_complete`` or ``rotate_cancel``.
    """
    if _pending_rotation() is not None:
        raise TrustedAuthError(
            "a rotation is already under way: complete or cancel it first",
            error_type="secret_rotation_in_progress",
            status_code=409,
        )
    live = ApiSecret.objects.filter(revoked_at__isnull=True)
    if secret_id:
        old = live.filter(secret_id=secret_id).first()
        if old is None:
            raise TrustedAuthError(
                f"no live API secret {secret_id!r}", error_type="secret_not_found", status_code=404
            )
    else:
        candidates = list(live[:2])
        if len(candidates) != 1:
            raise BadRequest(
                f"name the secret to rotate with --secret-id: there are {live.count()} live secrets"
            )
        old = candidates[0]
    created = create_secret(f"rotation of {old.secret_id}")
    created.secret.replaces = old
    created.secret.save(update_fields=["replaces"])
    logger.info(
        "API secret rotation started: %s will replace %s",
        created.secret.secret_id,
        old.secret_id,
        extra={"secret_id": created.secret.secret_id},
    )
    return created


def rotate_complete() -> ApiSecret:
    """Step 2: revoke the replaced secret; the new one stays as the live secret."""
    new = _pending_rotation()
    if new is None:
        raise BadRequest("no secret rotation is under way")
    replaced = new.replaces
    assert replaced is not None  # _pending_rotation() filters on replaces__isnull=False
    with transaction.atomic():
        revoke_secret(replaced.secret_id)
        new.replaces = None
        new.save(update_fields=["replaces"])
    logger.info("API secret rotation completed: %s is live", new.secret_id)
    return new


def rotate_cancel() -> ApiSecret:
    """Or step 2: drop the new secret; the old one stays as it was."""
    new = _pending_rotation()
    if new is None:
        raise BadRequest("no secret rotation is under way")
    with transaction.atomic():
        new.replaces = None
        new.save(update_fields=["replaces"])
        logger.info("API secret rotation cancelled: %s is dropped", new.secret_id)
        return revoke_secret(new.secret_id)


def _load_live_secrets() -> dict[str, ApiSecret]:
    return {s.digest: s for s in ApiSecret.objects.filter(revoked_at__isnull=True)}


# The live secrets by digest, per process. Creating or revoking one saves the row, which bumps
# the ``secrets`` generation: every worker reloads on its next request (no stale accept).
_live_secrets: ProcessCache[str, dict[str, ApiSecret]] = ProcessCache(
    1, counter=generations.SECRETS
)
_last_written: dict[str, float] = {}


def authenticate_secret(project_id: str, clear_text: str) -> ApiSecret:
    """The live secret matching HTTP Basic credentials. Raises ``Unauthorized``. Its
    ``last_used_at`` update does not bump the ``secrets`` generation."""
    expected = str(trusted_auth_settings.PROJECT_ID)
    if not expected or not hmac.compare_digest(project_id.encode(), expected.encode()):
        raise Unauthorized("unknown project_id or secret")
    secret = _live_secrets.fetch("live", _load_live_secrets).get(_digest(clear_text))
    if secret is None:
        raise Unauthorized("unknown project_id or secret")
    now = timezone.now()
    last = _last_written.get(secret.digest)
    if last is None and secret.last_used_at is not None:
        last = secret.last_used_at.timestamp()
    if last is None or now.timestamp() - last > LAST_USED_RESOLUTION_SECONDS:
        ApiSecret.objects.filter(pk=secret.pk).update(last_used_at=now)
        _last_written[secret.digest] = now.timestamp()
    return secret


def record_rejected_credentials(context: RequestContext, message: str) -> AuditEvent:
    """Audit one failed HTTP Basic attempt (``unauthorized_credentials``, no profile)."""
    return AuditEvent.objects.create(
        action=REJECTED_CREDENTIALS_ACTION,
        outcome=AuditEvent.Outcome.FAILURE,
        error_type=Unauthorized.error_type,
        error_message=message.replace("\x00", "")[:500],
        ip_address=context.ip_address,
        user_agent=context.user_agent.replace("\x00", "")[:512],
    )
