"""One liveness rule for every place that accepts a session: absolute expiry, idle timeout,
revocation, and its user or member being out.

authenticate, attach (attest with ``session_token``/``session_jwt``), the session lists, the
bearer authentication class and the browser flow all answer from ``sessions.session_is_live``
and its queryset form ``sessions.live_session_queryset``; the last test holds the two equal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from trusted_auth.identities.organizations import create_organization
from trusted_auth.models import Member, Session, UserIdentity
from trusted_auth.models.identities import DELETED
from trusted_auth.sessions.sessions import live_session_queryset, session_is_live

IDLE_SECONDS = 60
WHOAMI = "/example/whoami"


@pytest.fixture
def idle_timeout(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": IDLE_SECONDS}


@pytest.fixture
def organization(db):
    return create_organization(name="Acme Corp")


def start(api, profile, token_factory, **claims) -> dict:
    response = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(**claims),
            "session_duration_minutes": 60,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def start_member(api, profile, token_factory, organization, **claims) -> dict:
    response = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(**claims),
            "organization_id": organization.organization_id,
            "session_duration_minutes": 60,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def idle_for(seconds: int, **filters) -> None:
    Session.objects.filter(**filters).update(
        last_accessed_at=timezone.now() - timedelta(seconds=seconds)
    )


# --- the bearer authentication class ------------------------------------------------------------


def test_the_bearer_class_refuses_an_idle_session_token(
    api, client, pem_profile, token_factory, idle_timeout
):
    body = start(api, pem_profile, token_factory)
    header = {"HTTP_AUTHORIZATION": f"Bearer {body['session_token']}"}
    assert client.get(WHOAMI, **header).status_code == 200

    idle_for(IDLE_SECONDS * 2)

    response = client.get(WHOAMI, **header)
    assert response.status_code == 401, response.content
    assert Session.objects.get().revoked_at is None  # refused, and not revived either


def test_the_bearer_class_refuses_an_idle_session_jwt_when_it_reads_the_row(
    api, client, pem_profile, token_factory, idle_timeout, settings
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "BEARER_CHECK_REVOCATION": True}
    body = start(api, pem_profile, token_factory)
    header = {"HTTP_AUTHORIZATION": f"Bearer {body['session_jwt']}"}
    assert client.get(WHOAMI, **header).status_code == 200

    idle_for(IDLE_SECONDS * 2)

    assert client.get(WHOAMI, **header).status_code == 401


def test_a_session_in_use_through_the_bearer_class_does_not_idle_out(
    api, client, pem_profile, token_factory, idle_timeout
):
    """A bearer request is a use of the session: it is recorded as authenticate records one
    (at most once per touch interval), so a session used only through the bearer class lives."""
    body = start(api, pem_profile, token_factory)
    header = {"HTTP_AUTHORIZATION": f"Bearer {body['session_token']}"}

    idle_for(IDLE_SECONDS * 3 // 4)  # past the touch interval (a quarter), inside the timeout
    assert client.get(WHOAMI, **header).status_code == 200

    row = Session.objects.get()
    assert timezone.now() - row.last_accessed_at < timedelta(seconds=5)


# --- attach: attest with session_token / session_jwt --------------------------------------------


@pytest.mark.parametrize("argument", ["session_token", "session_jwt"])
def test_an_idle_session_cannot_take_a_factor(
    api, pem_profile, token_factory, idle_timeout, argument
):
    body = start(api, pem_profile, token_factory)
    idle_for(IDLE_SECONDS * 2)
    before = Session.objects.get()

    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": pem_profile.profile_id, "token": token_factory(), argument: body[argument]},
        format="json",
    )

    assert response.status_code == 404, response.json()
    assert response.json()["error_type"] == "session_not_found"
    after = Session.objects.get()
    assert after.authentication_factors == before.authentication_factors
    assert after.last_accessed_at == before.last_accessed_at  # not revived
    # ...and authenticate still refuses it.
    response = api.post(
        "/v1/sessions/authenticate", {"session_token": body["session_token"]}, format="json"
    )
    assert response.status_code == 404


def test_an_idle_member_session_cannot_take_a_factor(
    api, pem_profile, token_factory, organization, idle_timeout
):
    body = start_member(api, pem_profile, token_factory, organization)
    idle_for(IDLE_SECONDS * 2)

    response = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "organization_id": organization.organization_id,
            "session_token": body["session_token"],
        },
        format="json",
    )

    assert response.status_code == 404, response.json()
    assert len(Session.objects.get().authentication_factors) == 1


# --- the lists -----------------------------------------------------------------------------------


def test_idle_sessions_are_not_listed(api, pem_profile, token_factory, idle_timeout):
    idle = start(api, pem_profile, token_factory)
    fresh = start(api, pem_profile, token_factory)
    idle_for(IDLE_SECONDS * 2, session_id=idle["session"]["session_id"])

    listed = api.get("/v1/sessions", {"user_id": idle["user_id"]}).json()["sessions"]

    assert [s["session_id"] for s in listed] == [fresh["session"]["session_id"]]


def test_idle_member_sessions_are_not_listed(
    api, pem_profile, token_factory, organization, idle_timeout
):
    idle = start_member(api, pem_profile, token_factory, organization)
    fresh = start_member(api, pem_profile, token_factory, organization)
    idle_for(IDLE_SECONDS * 2, session_id=idle["member_session"]["member_session_id"])

    listed = api.get(
        "/v1/b2b/sessions",
        {"organization_id": organization.organization_id, "member_id": idle["member_id"]},
    ).json()["member_sessions"]

    assert [s["member_session_id"] for s in listed] == [
        fresh["member_session"]["member_session_id"]
    ]


# --- one rule: the row form and the queryset form agree ----------------------------------------


@pytest.mark.parametrize("idle_seconds", [None, IDLE_SECONDS])
def test_the_row_rule_and_the_queryset_rule_agree(
    api, pem_profile, token_factory, organization, settings, idle_seconds
):
    """Every way a session can stop being live, consumer and member, with and without an idle
    timeout: ``session_is_live`` on each row names exactly the rows ``live_session_queryset``
    returns."""
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "SESSION_IDLE_TIMEOUT_SECONDS": idle_seconds,
    }
    now = timezone.now()
    expected_live = set()

    def consumer(email: str) -> str:
        return start(api, pem_profile, token_factory, email=email)["session"]["session_id"]

    def member(email: str) -> str:
        body = start_member(api, pem_profile, token_factory, organization, email=email)
        return body["member_session"]["member_session_id"]

    expected_live.add(consumer("live@example.com"))
    expected_live.add(member("live-member@example.com"))
    Session.objects.filter(session_id=consumer("revoked@example.com")).update(revoked_at=now)
    Session.objects.filter(session_id=member("expired@example.com")).update(
        expires_at=now - timedelta(seconds=1)
    )
    idle = [consumer("idle@example.com"), member("idle-member@example.com")]
    Session.objects.filter(session_id__in=idle).update(
        last_accessed_at=now - timedelta(seconds=IDLE_SECONDS + 5)
    )
    if idle_seconds is None:
        expected_live.update(idle)
    # Used just inside the idle window: still live.
    recent = consumer("recent@example.com")
    Session.objects.filter(session_id=recent).update(
        last_accessed_at=now - timedelta(seconds=IDLE_SECONDS - 5)
    )
    expected_live.add(recent)

    consumer("inactive@example.com")
    get_user_model().objects.filter(email="inactive@example.com").update(is_active=False)
    consumer("deleted@example.com")
    UserIdentity.objects.filter(email="deleted@example.com").update(status=DELETED)
    member("deleted-member@example.com")
    Member.objects.filter(email="deleted-member@example.com").update(status=DELETED)
    member("linked-inactive@example.com")
    inactive_user = get_user_model().objects.create_user(
        "linked-inactive", "linked-inactive@example.com", is_active=False
    )
    Member.objects.filter(email="linked-inactive@example.com").update(django_user=inactive_user)
    # A member linked to an active Django user is live.
    expected_live.add(member("linked-active@example.com"))
    active_user = get_user_model().objects.create_user("linked-active", "la@example.com")
    Member.objects.filter(email="linked-active@example.com").update(django_user=active_user)

    by_row = {
        s.session_id
        for s in Session.objects.select_related(
            "user__trusted_auth_identity", "member__django_user"
        )
        if session_is_live(s)
    }
    by_query = set(live_session_queryset().values_list("session_id", flat=True))

    assert Session.objects.count() == 12
    assert by_row == by_query == expected_live
