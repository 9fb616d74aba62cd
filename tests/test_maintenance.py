"""Housekeeping at scale (issue 13): ``sessions clear-expired`` and ``audit prune`` delete the
right rows in primary-key batches, with no sort of the table per batch."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trusted_auth.audit.maintenance import prune_audit_events
from trusted_auth.checks import check_settings
from trusted_auth.models import AuditEvent, Session
from trusted_auth.sessions.lifecycle import clear_expired_sessions

from .test_lifecycle import start


def statements(queries: CaptureQueriesContext, table: str) -> tuple[list[str], list[str]]:
    """The SELECTs and DELETEs that read or delete rows of ``table``."""
    sql = [q["sql"] for q in queries.captured_queries]
    selects = [s for s in sql if s.startswith("SELECT") and table in s.split("WHERE")[0]]
    deletes = [s for s in sql if s.startswith("DELETE") and table in s.split("WHERE")[0]]
    return selects, deletes


def test_clear_expired_selects_each_batch_without_sorting(api, pem_profile, token_factory):
    ids = [start(api, pem_profile, token_factory)["session"]["session_id"] for _ in range(5)]
    Session.objects.filter(session_id__in=ids[:3]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    with CaptureQueriesContext(connection) as queries:
        assert clear_expired_sessions(batch_size=2) == 3

    selects, deletes = statements(queries, Session._meta.db_table)
    assert len(deletes) == 2  # 2 + 1
    assert len(selects) == 3  # two batches and the empty one that ends the run
    assert not [s for s in selects if "ORDER BY" in s], "a batch sorts the table"
    assert set(Session.objects.values_list("session_id", flat=True)) == set(ids[3:])


def events(ages_in_days: list[int]) -> list[int]:
    """Audit events created ``age`` days ago, one per age; their primary keys."""
    now = timezone.now()
    made = []
    for age in ages_in_days:
        event = AuditEvent.objects.create(outcome=AuditEvent.Outcome.FAILURE, error_type="x")
        AuditEvent.objects.filter(pk=event.pk).update(created_at=now - timedelta(days=age))
        made.append(event.pk)
    return made


def test_audit_prune_deletes_old_events_in_batches(db):
    old = events([40, 41, 90, 365, 31])
    recent = events([0, 1, 29])

    with CaptureQueriesContext(connection) as queries:
        assert prune_audit_events(older_than_days=30, batch_size=2) == 5

    selects, deletes = statements(queries, AuditEvent._meta.db_table)
    assert len(deletes) == 3  # 2 + 2 + 1
    assert not [s for s in selects if "ORDER BY" in s]
    assert sorted(AuditEvent.objects.values_list("pk", flat=True)) == sorted(recent)
    assert not AuditEvent.objects.filter(pk__in=old).exists()


def test_audit_prune_command_uses_the_retention_setting(db, settings):
    events([10, 3])
    recent = events([1])
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "AUDIT_RETENTION_DAYS": 2}
    stdout = io.StringIO()

    call_command("trusted_auth", "audit", "prune", stdout=stdout)

    assert json.loads(stdout.getvalue()) == {"deleted": 2}
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == recent


def test_audit_prune_command_with_older_than(db):
    events([10, 3])
    stdout = io.StringIO()
    call_command(
        "trusted_auth", "audit", "prune", "--older-than", "5", "--batch-size", "1", stdout=stdout
    )
    assert json.loads(stdout.getvalue()) == {"deleted": 1}
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to prune"),
        (("--older-than", "0"), "at least 1"),
        (("--older-than", "5", "--batch-size", "0"), "batch size must be at least 1"),
    ],
)
def test_audit_prune_command_refuses(db, args, message):
    events([10])
    with pytest.raises(CommandError, match=message):
        call_command("trusted_auth", "audit", "prune", *args, stdout=io.StringIO())
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize("retention", [0, -1, 1.5, "30", True])
def test_a_bad_retention_setting_is_an_error(settings, retention):
    settings.DEBUG = True
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "AUDIT_RETENTION_DAYS": retention}
    assert [m.id for m in check_settings()] == ["trusted_auth.E008"]
