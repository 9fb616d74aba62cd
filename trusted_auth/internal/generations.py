"""Generation counters: how every worker learns, on its next request, that shared state changed.

``bump`` increments a counter in the caller's transaction (the change and its announcement commit
together); saves and deletes of ``TRACKED_MODELS`` bump through model signals, while
``QuerySet.update()`` and raw SQL must call ``bump`` themselves. ``current()`` reads every counter
in one query, memoised per request (never inside a transaction, which may roll back).

Failure mode: the counters live in the database; when it is down the read raises (503), never
serving stale state.
"""

from __future__ import annotations

from typing import Any

from asgiref.local import Local
from django.core.signals import request_finished, request_started
from django.db import connections, router, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save

from trusted_auth.models import (
    ApiSecret,
    Generation,
    OrganizationRbacPolicy,
    ProfilePublicKey,
    RbacPolicy,
    SigningKey,
    TrustedAuthTokenProfile,
)

PROFILES = "profiles"
SECRETS = "secrets"
SIGNING_KEYS = "signing_keys"
RBAC = "rbac"

TRACKED_MODELS: dict[type, str] = {
    TrustedAuthTokenProfile: PROFILES,
    ProfilePublicKey: PROFILES,
    ApiSecret: SECRETS,
    SigningKey: SIGNING_KEYS,
    RbacPolicy: RBAC,
    OrganizationRbacPolicy: RBAC,
}

# Per request, not per thread: under ASGI one thread serves many requests at once.
_request = Local()


def current() -> dict[str, int]:
    """Every counter by name (a counter never bumped is 0), memoised for the current request."""
    memo = getattr(_request, "memo", None)
    if memo is not None:
        return memo
    connection = connections[router.db_for_read(Generation)]
    values = _read_counters(connection)
    if getattr(_request, "active", False) and not connection.in_atomic_block:
        _request.memo = values
    return values


def _read_counters(connection: Any) -> dict[str, int]:
    # Plain SQL through Django's cursor (logged and counted like any query): it runs on every
    # request.
    table = connection.ops.quote_name(Generation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, value FROM {table}")  # noqa: S608 - our table name
        return dict(cursor.fetchall())


def value(name: str) -> int:
    """One counter's value (see ``current``)."""
    return current().get(name, 0)


def bump(name: str) -> None:
    """Increment counter ``name`` inside the current transaction (created at 1 when missing)."""
    with transaction.atomic():
        updated = Generation.objects.filter(name=name).update(value=F("value") + 1)
        if not updated:
            _, created = Generation.objects.get_or_create(name=name, defaults={"value": 1})
            if not created:
                Generation.objects.filter(name=name).update(value=F("value") + 1)
    forget_request_memo()


def forget_request_memo() -> None:
    """Drop the memoised counters, so the next ``current()`` reads the database again."""
    _request.memo = None


def _request_started(**kwargs: Any) -> None:
    _request.active = True
    _request.memo = None


def _request_finished(**kwargs: Any) -> None:
    _request.active = False
    _request.memo = None


def _changed(sender: type, **kwargs: Any) -> None:
    bump(TRACKED_MODELS[sender])


def connect_signals() -> None:
    request_started.connect(_request_started, dispatch_uid="trusted_auth.generations.started")
    request_finished.connect(_request_finished, dispatch_uid="trusted_auth.generations.finished")
    for model in TRACKED_MODELS:
        for name, signal in (("post_save", post_save), ("post_delete", post_delete)):
            signal.connect(
                _changed,
                sender=model,
                dispatch_uid=f"trusted_auth.generations.{model.__name__}.{name}",
            )
