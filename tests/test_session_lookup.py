"""``sessions.session_with_owner`` (one plain SELECT per row) reads exactly what the ORM query
it stands for reads (``session_with_owner_query``), and what using a session needs comes
loaded: the relations it sets cost no further query."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from trusted_auth.identities.organizations import create_organization
from trusted_auth.models import Member, Session
from trusted_auth.sessions.sessions import (
    session_with_owner,
    session_with_owner_query,
    token_digest,
)


def values(instance) -> dict:
    return {
        field.attname: field.value_from_object(instance)
        for field in instance._meta.get_fields()
        if field.concrete
    }


def attest(api, path, profile, token, **extra) -> dict:
    response = api.post(
        path,
        {"profile_id": profile.profile_id, "token": token, "session_duration_minutes": 60, **extra},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def loaded(session: Session) -> list:
    """Every row using a session reads, through the relations ``find_live_session`` loads."""
    if session.member_id is None:
        return [session, session.user, session.user.trusted_auth_identity]
    return [
        session,
        session.member,
        session.member.organization,
        session.member.django_user,
        session.organization,
    ]


def assert_same(lookup: dict, django_assert_num_queries, *, queries: int = 3) -> None:
    expected = loaded(session_with_owner_query().get(**lookup))
    with django_assert_num_queries(queries):
        found = session_with_owner(**lookup)
    assert found is not None
    with django_assert_num_queries(0):
        rows = loaded(found)
    assert [type(row) for row in rows] == [type(row) for row in expected]
    assert [row and values(row) for row in rows] == [row and values(row) for row in expected]


@pytest.mark.django_db
def test_a_consumer_session_by_token_and_by_id(
    api, pem_profile, token_factory, django_assert_num_queries
):
    body = attest(api, "/v1/sessions/attest", pem_profile, token_factory())
    assert_same({"token_digest": token_digest(body["session_token"])}, django_assert_num_queries)
    assert_same({"session_id": body["session"]["session_id"]}, django_assert_num_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("with_django_user", [False, True])
def test_a_member_session(
    api, pem_profile, token_factory, with_django_user, django_assert_num_queries
):
    organization = create_organization(name="Acme Corp")
    body = attest(
        api,
        "/v1/b2b/sessions/attest",
        pem_profile,
        token_factory(),
        organization_id=organization.organization_id,
    )
    if with_django_user:
        user = get_user_model().objects.create_user(username="someone", email="someone@example.com")
        Member.objects.update(django_user=user)
    assert_same(
        {"token_digest": token_digest(body["session_token"])},
        django_assert_num_queries,
        queries=4 if with_django_user else 3,
    )


@pytest.mark.django_db
def test_an_unknown_session_is_none():
    assert session_with_owner(token_digest=token_digest("no such token")) is None
    assert session_with_owner(session_id="session-test-nope") is None


@pytest.mark.django_db(transaction=True)
def test_an_owner_deleted_between_the_reads_is_session_not_found(api, pem_profile, token_factory):
    """The reads are separate statements: an owner deleted after the session row was read is
    an unknown session (404), never a 500."""
    body = attest(api, "/v1/sessions/attest", pem_profile, token_factory())
    user_id = Session.objects.get().user_id

    def delete_the_user_after_the_session_is_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if 'FROM "trusted_auth_session"' in sql and sql.lstrip().startswith("SELECT *"):
            get_user_model().objects.filter(pk=user_id).delete()
        return result

    with connection.execute_wrapper(delete_the_user_after_the_session_is_read):
        response = api.post(
            "/v1/sessions/authenticate", {"session_token": body["session_token"]}, format="json"
        )
    assert response.status_code == 404, response.content
    assert response.json()["error_type"] == "session_not_found"
