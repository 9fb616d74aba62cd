"""The session lifecycle signals: sent once committed, sender the model class, documented
arguments (``trusted_auth/signals.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from trusted_auth import signals
from trusted_auth.identities.organizations import create_organization
from trusted_auth.models import AuditEvent, Session
from trusted_auth.sessions.lifecycle import revoke_sessions

from .test_lifecycle import AUTHENTICATE, B2B_REVOKE, REVOKE, post, start, start_member

SESSION_SIGNALS = {
    "session_started": signals.session_started,
    "session_refreshed": signals.session_refreshed,
    "session_revoked": signals.session_revoked,
}


@pytest.fixture
def received(transactional_db):
    """Every session signal sent, as ``(name, kwargs)``. The tests really commit
    (``transactional_db``): the session signals wait for the commit."""
    calls: list[tuple[str, dict]] = []
    receivers = {}
    for name, signal in SESSION_SIGNALS.items():

        def receiver(name=name, **kwargs):
            calls.append((name, kwargs))

        receivers[name] = receiver
        signal.connect(receiver, sender=Session)
    yield calls
    for name, signal in SESSION_SIGNALS.items():
        signal.disconnect(receivers[name], sender=Session)


def names(calls) -> list[str]:
    return [name for name, _ in calls]


def test_attest_sends_session_started(api, pem_profile, token_factory, received):
    body = start(api, pem_profile, token_factory)
    [(name, kwargs)] = received
    assert name == "session_started"
    assert kwargs["sender"] is Session
    assert kwargs["session"] == Session.objects.get(session_id=body["session"]["session_id"])
    assert kwargs["session"].user is not None and kwargs["session"].member is None
    assert kwargs["profile"] == pem_profile
    assert (
        kwargs["token_id"]
        == body["session"]["authentication_factors"][0]["trusted_auth_token_factor"]["token_id"]
    )


def test_attest_without_a_session_sends_none(api, pem_profile, token_factory, received):
    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": pem_profile.profile_id, "token": token_factory()},
        format="json",
    )
    assert response.status_code == 200
    assert received == []


def test_adding_a_factor_sends_session_refreshed(api, pem_profile, token_factory, received):
    body = start(api, pem_profile, token_factory)
    start(api, pem_profile, token_factory, session_token=body["session_token"])
    assert names(received) == ["session_started", "session_refreshed"]
    kwargs = received[1][1]
    assert kwargs["sender"] is Session
    assert kwargs["session"].session_id == body["session"]["session_id"]
    assert len(kwargs["session"].authentication_factors) == 2
    assert kwargs["reason"] == "factor_added" and kwargs["extended"] is True


def test_authenticate_sends_session_refreshed(api, pem_profile, token_factory, received):
    body = start(api, pem_profile, token_factory)
    assert post(api, AUTHENTICATE, session_token=body["session_token"]).status_code == 200
    response = post(api, AUTHENTICATE, session_jwt=body["session_jwt"], session_duration_minutes=30)
    assert response.status_code == 200
    refreshed = [kwargs for name, kwargs in received if name == "session_refreshed"]
    assert [(k["reason"], k["extended"]) for k in refreshed] == [
        ("authenticate", False),
        ("authenticate", True),
    ]
    assert all(k["session"].session_id == body["session"]["session_id"] for k in refreshed)


def test_a_refused_authenticate_sends_nothing(api, received, db):
    response = post(api, AUTHENTICATE, session_token="not-a-session")
    assert response.status_code == 404
    assert received == []


@pytest.mark.parametrize("argument", ["session_id", "session_token", "session_jwt"])
def test_revoke_sends_session_revoked(api, pem_profile, token_factory, received, argument):
    body = start(api, pem_profile, token_factory)
    value = body["session"]["session_id"] if argument == "session_id" else body[argument]
    assert post(api, REVOKE, **{argument: value}).status_code == 200
    assert names(received) == ["session_started", "session_revoked"]
    kwargs = received[1][1]
    assert kwargs["sender"] is Session
    assert kwargs["session_ids"] == [body["session"]["session_id"]]
    assert kwargs["reason"] == "revoked"
    # Revoking it again revokes nothing and says nothing.
    assert post(api, REVOKE, **{argument: value}).status_code == 404
    assert names(received) == ["session_started", "session_revoked"]


def test_revoking_a_members_sessions_names_each(api, pem_profile, token_factory, received):
    organization = create_organization(name="Signals Inc")
    first = start_member(api, pem_profile, token_factory, organization, session_duration_minutes=60)
    start_member(api, pem_profile, token_factory, organization, session_duration_minutes=60)
    assert post(api, B2B_REVOKE, member_id=first["member_id"]).status_code == 200
    [kwargs] = [kwargs for name, kwargs in received if name == "session_revoked"]
    assert sorted(kwargs["session_ids"]) == sorted(
        Session.objects.filter(member__member_id=first["member_id"]).values_list(
            "session_id", flat=True
        )
    )
    assert len(kwargs["session_ids"]) == 2


def test_an_idle_session_sends_session_revoked(api, pem_profile, token_factory, received, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": 60}
    body = start(api, pem_profile, token_factory)
    Session.objects.update(last_accessed_at=timezone.now() - timedelta(minutes=2))
    assert post(api, AUTHENTICATE, session_token=body["session_token"]).status_code == 404
    assert names(received) == ["session_started", "session_revoked"]
    assert received[1][1]["session_ids"] == [body["session"]["session_id"]]
    assert received[1][1]["reason"] == "idle_timeout"


def test_nothing_is_sent_for_a_rolled_back_revoke(api, pem_profile, token_factory, received):
    body = start(api, pem_profile, token_factory)
    with pytest.raises(RuntimeError), transaction.atomic():
        revoke_sessions(session_id=body["session"]["session_id"])
        raise RuntimeError("the caller's transaction fails after the revoke")
    assert names(received) == ["session_started"]
    assert Session.objects.get().revoked_at is None


def test_attest_signals_are_sent_by_the_audit_event_model(
    api, pem_profile, token_factory, django_capture_on_commit_callbacks
):
    senders = []

    def on_attest(sender, **kwargs):
        senders.append(sender)

    signals.attest_succeeded.connect(on_attest, sender=AuditEvent)
    signals.attest_failed.connect(on_attest, sender=AuditEvent)
    try:
        with django_capture_on_commit_callbacks(execute=True):  # success follows the commit
            start(api, pem_profile, token_factory)
        post(api, "/v1/sessions/attest", profile_id=pem_profile.profile_id, token="x.y.z")
    finally:
        signals.attest_succeeded.disconnect(on_attest, sender=AuditEvent)
        signals.attest_failed.disconnect(on_attest, sender=AuditEvent)
    assert senders == [AuditEvent, AuditEvent]
