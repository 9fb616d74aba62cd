"""``PreparedQuery``: the hot-path lookups compiled once per connection give what the ORM gives."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction
from django.db.models.functions import Now
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trusted_auth.internal.prepared import PreparedQuery, insert, insert_all
from trusted_auth.models import AuditEvent, ConsumedToken, IdentityLink, UserIdentity

pytestmark = pytest.mark.django_db(transaction=True)

LINK = PreparedQuery(
    lambda issuer, subject: (
        IdentityLink.objects.select_related("identity__django_user")
        .filter(issuer=issuer, kind="email", subject=subject, identity__isnull=False)
        .order_by()[:1]
    ),
    issuer=str,
    subject=str,
)


def make_link(email: str) -> IdentityLink:
    user = get_user_model().objects.create(username=email, email=email)
    identity = UserIdentity.objects.create(django_user=user, email=email)
    return IdentityLink.objects.create(
        issuer="https://issuer.test", kind="email", subject=email, identity=identity, origin="jit"
    )


def test_a_prepared_lookup_returns_what_the_orm_returns_with_its_relations_loaded():
    made = make_link("ada@example.com")
    make_link("bob@example.com")
    with CaptureQueriesContext(connection) as queries:
        link = LINK.first(issuer="https://issuer.test", subject="ada@example.com")
        assert link is not None
        user = link.identity.django_user  # loaded by select_related: no query
    assert len(queries) == 1
    assert (link.pk, link.identity.pk, user.pk) == (
        made.pk,
        made.identity.pk,
        made.identity.django_user.pk,
    )
    assert isinstance(link.created_at, datetime) and link.created_at == made.created_at
    assert user.email == "ada@example.com" and link.identity.email == "ada@example.com"
    assert link._state.db == "default" and not link._state.adding  # saves update, not insert

    # The second call runs the kept SQL with the new values: still the right row, or none.
    assert (
        LINK.first(issuer="https://issuer.test", subject="bob@example.com").subject
        == "bob@example.com"
    )
    assert LINK.first(issuer="https://issuer.test", subject="eve@example.com") is None
    assert LINK.first(issuer="https://other.test", subject="ada@example.com") is None


def test_values_the_database_would_not_see_unchanged_are_refused():
    contains = PreparedQuery(
        lambda text: IdentityLink.objects.filter(subject__icontains=text), text=str
    )
    with pytest.raises(ValueError, match="do not reach the SQL unchanged"):
        contains.first(text="ada")
    with pytest.raises(TypeError):
        PreparedQuery(lambda when: IdentityLink.objects.filter(created_at=when), when=datetime)


def test_each_thread_runs_its_own_connection_plan():
    make_link("ada@example.com")
    LINK.first(issuer="https://issuer.test", subject="ada@example.com")
    found = []

    def other_thread():
        try:
            found.append(LINK.first(issuer="https://issuer.test", subject="ada@example.com"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert found and found[0].subject == "ada@example.com"
    assert (
        LINK._plans()["default"].connection is connections["default"]
    )  # this thread's plan, untouched


def test_values_with_percent_signs_reach_the_database_unchanged():
    """On SQLite the plans carry named placeholders (Django's cursor then skips its regular
    expression); a value that looks like a placeholder is still only a value."""
    odd = "a%sb%%c%(p0)s@example.com"
    make_link(odd)
    assert LINK.first(issuer="https://issuer.test", subject=odd).subject == odd
    assert LINK.first(issuer="https://issuer.test", subject="a?b@example.com") is None
    event = insert(AuditEvent(action="attest", outcome="failure", error_message=odd))
    assert AuditEvent.objects.get(pk=event.pk).error_message == odd


def test_insert_writes_the_row_save_would_write():

    event = insert(AuditEvent(action="attest", outcome="success", token_id="t1", ip_address="::1"))
    again = insert(AuditEvent(action="attest", outcome="failure", error_type="x"))
    assert event.pk and again.pk == event.pk + 1 and not event._state.adding
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.token_id, stored.ip_address, stored.outcome) == ("t1", "::1", "success")
    assert stored.created_at == event.created_at is not None  # auto_now_add, set on the object

    later = timezone.now() + timedelta(minutes=5)
    insert(ConsumedToken(replay_key="k", expires_at=later))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(ConsumedToken(replay_key="k", expires_at=later))  # the unique key, as save()
    # An expression value takes save()'s path: same row, same outcome.
    insert(ConsumedToken(replay_key="k2", expires_at=Now()))
    assert ConsumedToken.objects.filter(replay_key__in=["k", "k2"]).count() == 2


def test_insert_all_writes_each_row_and_on_postgresql_in_one_statement():
    later = timezone.now() + timedelta(minutes=5)
    rows = [
        ConsumedToken(replay_key="together", expires_at=later),
        AuditEvent(action="attest", outcome="success", token_id="t1"),
        AuditEvent(action="attest", outcome="success", token_id="t2"),
    ]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        insert_all(rows)
    writes = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 3), writes
    assert all(row.pk and not row._state.adding for row in rows)
    assert ConsumedToken.objects.get(pk=rows[0].pk).replay_key == "together"
    stored = AuditEvent.objects.filter(pk__in=[rows[1].pk, rows[2].pk]).order_by("pk")
    assert [event.token_id for event in stored] == ["t1", "t2"]

    # The unique key refuses the whole statement: no row of it is written.
    again = [
        AuditEvent(action="attest", outcome="success", token_id="t3"),
        ConsumedToken(replay_key="together", expires_at=later),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_all(again)
    assert not AuditEvent.objects.filter(token_id="t3").exists()


def test_insert_all_saves_each_row_when_a_receiver_listens():
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append(instance.replay_key)

    post_save.connect(receiver, sender=ConsumedToken)
    try:
        insert_all(
            [
                AuditEvent(action="attest", outcome="success"),
                ConsumedToken(replay_key="heard", expires_at=timezone.now()),
            ]
        )
    finally:
        post_save.disconnect(receiver, sender=ConsumedToken)
    assert seen == ["heard"] and ConsumedToken.objects.filter(replay_key="heard").exists()


def test_an_integrity_error_caught_inside_atomic_still_rolls_the_block_back():

    later = timezone.now() + timedelta(minutes=5)
    insert(ConsumedToken(replay_key="k", expires_at=later))
    with transaction.atomic():
        try:
            insert(ConsumedToken(replay_key="k", expires_at=later))
        except IntegrityError:
            pass
        assert transaction.get_connection().needs_rollback  # as Model.save() marks it


def test_a_lookup_whose_value_the_backend_escapes_is_refused_or_kept_exact():
    """iexact escapes LIKE wildcards on SQLite (refused: it could not be prepared) and folds
    case in SQL on PostgreSQL (prepared): either way "a_b" never matches "axb"."""
    make_link("axb@example.com")
    by_iexact = PreparedQuery(
        lambda subject: IdentityLink.objects.filter(subject__iexact=subject).order_by()[:1],
        subject=str,
    )
    try:
        found = by_iexact.first(subject="a_b@example.com")
    except ValueError:
        assert connection.vendor == "sqlite"
    else:
        assert found is None
        assert by_iexact.first(subject="AXB@example.com") is not None


def test_insert_is_save_itself_when_a_receiver_listens():
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.replay_key, created))

    post_save.connect(receiver, sender=ConsumedToken)
    try:
        insert(ConsumedToken(replay_key="heard", expires_at=timezone.now()))
    finally:
        post_save.disconnect(receiver, sender=ConsumedToken)
    insert(ConsumedToken(replay_key="unheard", expires_at=timezone.now()))
    assert seen == [("heard", True)]


class RecordingRouter:
    seen: list[tuple[str, str]] = []

    def db_for_read(self, model, **hints):
        self.seen.append(("read", model.__name__))

    def db_for_write(self, model, **hints):
        self.seen.append(("write", model.__name__))


def test_prepared_queries_and_inserts_ask_the_database_routers_as_the_orm_does(settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.RecordingRouter"]
    RecordingRouter.seen.clear()
    LINK.first(issuer="https://issuer.test", subject="nobody@example.com")
    locked = PreparedQuery(
        lambda key: ConsumedToken.objects.select_for_update().filter(replay_key=key)[:1], key=str
    )
    with transaction.atomic():
        locked.first(key="k")
    insert(ConsumedToken(replay_key="k", expires_at=timezone.now()))
    assert ("read", "IdentityLink") in RecordingRouter.seen
    assert ("write", "ConsumedToken") in RecordingRouter.seen
    assert ("read", "ConsumedToken") not in RecordingRouter.seen


def test_a_plan_outlives_its_connection_being_closed_and_reopened():
    """CONN_MAX_AGE=0 closes the connection after every request; the wrapper reconnects and
    the plan (Django's SQL and converters) still serves it."""
    made = make_link("ada@example.com")
    assert LINK.first(issuer="https://issuer.test", subject="ada@example.com").pk == made.pk
    connection.close()
    again = LINK.first(issuer="https://issuer.test", subject="ada@example.com")
    assert again.pk == made.pk and again.created_at == made.created_at
    connection.close()
    assert insert(ConsumedToken(replay_key="after-close", expires_at=timezone.now())).pk
