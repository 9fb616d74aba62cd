"""Housekeeping: delete old rows in primary-key batches without sorting the table, each batch in
its own short transaction, so a long run holds no long lock and can be interrupted at any point.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest
from trusted_auth.models import AuditEvent

DEFAULT_BATCH_SIZE = 1000


def delete_in_batches(queryset: models.QuerySet, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Delete every row of ``queryset``, ``batch_size`` primary keys per statement; returns how
    many rows of its model were deleted (cascades not counted)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise BadRequest("batch size must be at least 1")
    model = queryset.model
    label = model._meta.label
    pks = queryset.order_by().values_list("pk", flat=True)
    deleted = 0
    while True:
        batch = list(pks[:batch_size])
        if not batch:
            return deleted
        with transaction.atomic():
            _, per_model = model._base_manager.filter(pk__in=batch).delete()
        deleted += per_model.get(label, 0)


def prune_audit_events(
    older_than_days: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> int:
    """Delete audit events older than ``older_than_days`` (default: ``AUDIT_RETENTION_DAYS``);
    ``BadRequest`` when neither is set, since keeping every event is the default."""
    days = (
        trusted_auth_settings.AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
    )
    if days is None:
        raise BadRequest(
            "nothing to prune: give --older-than DAYS or set TRUSTED_AUTH['AUDIT_RETENTION_DAYS']"
        )
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise BadRequest("the retention must be a whole number of days, at least 1")
    cutoff = timezone.now() - timedelta(days=days)
    return delete_in_batches(AuditEvent.objects.filter(created_at__lt=cutoff), batch_size)
