"""The SDK calls a team makes around attest, through the official Python SDK, sync and async,
over TLS (``tests/tls_server.py``): JWKS, users, organizations, members, unknown routes.

Each test checks the rows the calls leave, not only what the SDK parsed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import stytch
from stytch.core.response_base import StytchError

from trusted_auth.models import AuditEvent, Member, Organization, Session, SigningKey, UserIdentity
from trusted_auth.sessions.secrets import create_secret


@pytest.fixture
def secret(trust_test_ca, tls_live_server) -> str:
    return create_secret("sdk surface").clear_text


@pytest.fixture
def b2b_sdk(secret, sdk_factory):
    return sdk_factory(secret, b2b=True)


@pytest.fixture
def consumer_sdk(secret, sdk_factory):
    return sdk_factory(secret)


@pytest.fixture
def run_async(secret, tls_live_server, settings, ca_bundle):
    """``run_async(lambda client: client.users.create_async(…), b2b=False)``: one call through
    the SDK's aiohttp transport, on a session opened and closed inside its own event loop.

    aiohttp builds its default SSL context when imported, before any environment a test sets,
    so the session trusts the test CA through its connector, as a deployment passing its own
    ``async_session`` would. Verification stays on."""

    def run(call: Callable[[Any], Awaitable[Any]], b2b: bool = False) -> Any:
        async def main() -> Any:
            connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_bundle))
            async with aiohttp.ClientSession(connector=connector) as session:
                client_class = stytch.B2BClient if b2b else stytch.Client
                client = client_class(
                    settings.TRUSTED_AUTH["PROJECT_ID"],
                    secret,
                    custom_base_url=f"{tls_live_server.url}/",
                    async_session=session,
                )
                return await call(client)

        return asyncio.run(main())

    return run


def _project_id(settings) -> str:
    return settings.TRUSTED_AUTH["PROJECT_ID"]


# --- JWKS --------------------------------------------------------------------------------------


def test_get_jwks_parses_consumer_and_b2b_sync_and_async(
    consumer_sdk, b2b_sdk, run_async, settings
):
    project_id = _project_id(settings)

    responses = [
        consumer_sdk.sessions.get_jwks(project_id=project_id),
        b2b_sdk.sessions.get_jwks(project_id=project_id),
        run_async(lambda c: c.sessions.get_jwks_async(project_id=project_id)),
        run_async(lambda c: c.sessions.get_jwks_async(project_id=project_id), b2b=True),
    ]

    key = SigningKey.objects.get(state="current")
    for response in responses:
        assert response.status_code == 200
        assert [k.kid for k in response.keys] == [key.kid]
        assert response.keys[0].x5c and response.keys[0].x5tS256
        assert response.keys[0].key_ops == ["verify"]
    assert bytes(key.certificate)  # stored with the key, not made per request


def test_get_jwks_for_another_project_is_a_stytch_error(consumer_sdk):
    with pytest.raises(StytchError) as caught:
        consumer_sdk.sessions.get_jwks(project_id="project-test-other")

    assert (caught.value.details.status_code, caught.value.details.error_type) == (
        404,
        "project_not_found",
    )


# --- attest and authenticate, async ------------------------------------------------------------


def test_attest_and_authenticate_through_the_async_sdk(run_async, pem_profile, token_factory):
    attested = run_async(
        lambda c: c.sessions.attest_async(
            profile_id=pem_profile.profile_id,
            token=token_factory(email="async@example.com", jti="jti-async-1"),
            session_duration_minutes=30,
        )
    )
    authenticated = run_async(
        lambda c: c.sessions.authenticate_async(session_token=attested.session_token)
    )
    revoked = run_async(lambda c: c.sessions.revoke_async(session_id=attested.session.session_id))

    identity = UserIdentity.objects.get(email="async@example.com")
    assert attested.user_id == authenticated.user.user_id == identity.user_id
    assert authenticated.session.session_id == attested.session.session_id
    assert revoked.status_code == 200
    row = Session.objects.get()
    assert row.session_id == attested.session.session_id and row.revoked_at is not None
    assert AuditEvent.objects.get(action="attest").token_id == "jti-async-1"


def test_b2b_attest_and_authenticate_through_the_async_sdk(run_async, pem_profile, token_factory):
    organization = run_async(
        lambda c: c.organizations.create_async(organization_name="Async Org"), b2b=True
    ).organization
    run_async(
        lambda c: c.organizations.members.create_async(
            organization_id=organization.organization_id, email_address="m@async.example"
        ),
        b2b=True,
    )
    attested = run_async(
        lambda c: c.sessions.attest_async(
            profile_id=pem_profile.profile_id,
            token=token_factory(email="m@async.example"),
            organization_id=organization.organization_id,
        ),
        b2b=True,
    )
    authenticated = run_async(
        lambda c: c.sessions.authenticate_async(session_jwt=attested.session_jwt), b2b=True
    )

    member = Member.objects.get(email="m@async.example")
    assert attested.member_id == authenticated.member.member_id == member.member_id
    assert authenticated.organization.organization_id == organization.organization_id
    row = Session.objects.get()
    assert (row.member_id, row.organization.organization_id) == (
        member.pk,
        organization.organization_id,
    )


# --- consumer users ----------------------------------------------------------------------------


def test_users_lifecycle_through_the_sync_sdk(consumer_sdk, pem_profile, token_factory):
    created = consumer_sdk.users.create(
        email="ada@example.com",
        name={"first_name": "Ada", "last_name": "Lovelace"},
        external_id="crm-ada",
        trusted_metadata={"plan": "pro"},
        phone_number="+15555550100",  # accepted, ignored: we hold no phone numbers
    )

    identity = UserIdentity.objects.get(email="ada@example.com")
    assert created.user_id == created.user.user_id == identity.user_id
    assert created.email_id == created.user.emails[0].email_id
    assert (created.status, created.user.external_id) == ("active", "crm-ada")
    assert identity.external_id == "crm-ada"
    assert identity.provisioned_by == "operator" and not identity.links.exists()
    assert identity.trusted_metadata == {"plan": "pro"}
    assert identity.name == {"first_name": "Ada", "last_name": "Lovelace"}
    assert not identity.django_user.has_usable_password()
    event = AuditEvent.objects.get(action="user_create")
    assert (event.outcome, event.user_id, event.ip_address) == (
        "success",
        identity.user_id,
        "127.0.0.1",
    )

    fetched = consumer_sdk.users.get(user_id="crm-ada")  # an external id works as a user_id
    assert fetched.user_id == identity.user_id and fetched.emails[0].email == "ada@example.com"
    assert fetched.trusted_metadata == {"plan": "pro"}

    updated = consumer_sdk.users.update(
        user_id=identity.user_id, name={"first_name": "Augusta"}, trusted_metadata={"plan": "x"}
    )
    assert updated.user.name.first_name == "Augusta"
    identity.refresh_from_db()
    assert (identity.name, identity.trusted_metadata) == ({"first_name": "Augusta"}, {"plan": "x"})

    found = consumer_sdk.users.search(
        query={
            "operator": "AND",
            "operands": [{"filter_name": "email_address", "filter_value": ["ADA@example.com"]}],
        }
    )
    assert [u.user_id for u in found.results] == [identity.user_id]
    assert (found.results_metadata.total, found.results_metadata.next_cursor) == (1, None)

    # A live session of this user, then delete: the session is revoked with the user.
    attested = consumer_sdk.sessions.attest(
        profile_id=pem_profile.profile_id,
        token=token_factory(email="ada@example.com"),
        session_duration_minutes=60,
    )
    assert attested.user_id == identity.user_id  # the pre-provisioned identity was claimed
    deleted = consumer_sdk.users.delete(user_id=identity.user_id)
    assert deleted.user_id == identity.user_id
    identity.refresh_from_db()
    assert identity.status == "deleted"
    assert Session.objects.get().revoked_at is not None
    with pytest.raises(StytchError) as caught:
        consumer_sdk.sessions.authenticate(session_token=attested.session_token)
    assert caught.value.details.error_type == "session_not_found"
    with pytest.raises(StytchError) as caught:
        consumer_sdk.users.get(user_id=identity.user_id)
    assert (caught.value.details.status_code, caught.value.details.error_type) == (
        404,
        "user_not_found",
    )
    assert list(
        AuditEvent.objects.filter(action__startswith="user_")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["user_create", "user_update", "user_delete"]


def test_users_through_the_async_sdk(run_async):
    created = run_async(lambda c: c.users.create_async(email="lin@example.com"))
    fetched = run_async(lambda c: c.users.get_async(user_id=created.user_id))
    searched = run_async(
        lambda c: c.users.search_async(
            query={
                "operator": "OR",
                "operands": [{"filter_name": "user_id", "filter_value": [created.user_id]}],
            }
        )
    )
    updated = run_async(
        lambda c: c.users.update_async(user_id=created.user_id, external_id="crm-lin")
    )
    deleted = run_async(lambda c: c.users.delete_async(user_id=created.user_id))

    assert fetched.user_id == searched.results[0].user_id == created.user_id
    assert updated.user.external_id == "crm-lin"
    assert deleted.user_id == created.user_id
    identity = UserIdentity.objects.get(user_id=created.user_id)
    assert (identity.email, identity.external_id, identity.status) == (
        "lin@example.com",
        "crm-lin",
        "deleted",
    )
    assert AuditEvent.objects.filter(action__startswith="user_").count() == 3


def test_user_search_pages_with_a_cursor(consumer_sdk):
    for n in range(5):
        consumer_sdk.users.create(email=f"page{n}@example.com")

    seen, cursor, pages = [], None, 0
    while True:
        page = consumer_sdk.users.search(limit=2, cursor=cursor)
        pages += 1
        assert page.results_metadata.total == 5
        seen += [u.emails[0].email for u in page.results]
        cursor = page.results_metadata.next_cursor
        if cursor is None:
            break

    assert pages == 3
    assert seen == [f"page{n}@example.com" for n in range(5)]
    with pytest.raises(StytchError) as caught:
        consumer_sdk.users.search(cursor="forged")
    assert caught.value.details.error_type == "bad_request"


def test_user_errors_are_stytch_errors(consumer_sdk):
    consumer_sdk.users.create(email="taken@example.com", external_id="crm-1")

    cases = {
        "duplicate_email": lambda: consumer_sdk.users.create(email="TAKEN@example.com"),
        "duplicate_external_id": lambda: consumer_sdk.users.create(
            email="other@example.com", external_id="crm-1"
        ),
        "bad_request": lambda: consumer_sdk.users.create(email="not an email"),
        "user_not_found": lambda: consumer_sdk.users.get(user_id="user-nobody"),
    }
    for error_type, call in cases.items():
        with pytest.raises(StytchError) as caught:
            call()
        assert caught.value.details.error_type == error_type, caught.value.details
        assert caught.value.details.request_id
    assert UserIdentity.objects.count() == 1


# --- B2B organizations and members -------------------------------------------------------------


def test_organizations_and_members_through_the_sync_sdk(b2b_sdk, pem_profile, token_factory):
    organizations, members = b2b_sdk.organizations, b2b_sdk.organizations.members
    created = organizations.create(
        organization_name="Acme Corp",
        organization_slug="acme",
        organization_external_id="crm-acme",
        email_allowed_domains=["Acme.example"],
        mfa_policy="REQUIRED_FOR_ALL",  # accepted, ignored: no MFA here
    )
    organization = Organization.objects.get(slug="acme")
    assert created.organization.organization_id == organization.organization_id
    assert created.organization.organization_external_id == "crm-acme"
    assert organization.email_allowed_domains == ["acme.example"]

    assert organizations.get(organization_id="crm-acme").organization.organization_slug == "acme"
    renamed = organizations.update(
        organization_id=organization.organization_id, organization_name="Acme Inc"
    )
    assert renamed.organization.organization_name == "Acme Inc"
    found = organizations.search(
        query={
            "operator": "AND",
            "operands": [{"filter_name": "organization_slugs", "filter_value": ["acme"]}],
        }
    )
    assert [o.organization_id for o in found.organizations] == [organization.organization_id]

    member = members.create(
        organization_id=organization.organization_id,
        email_address="grace@acme.example",
        name="Grace",
        roles=["stytch_admin"],
        external_id="crm-grace",
    )
    row = Member.objects.get(member_id=member.member_id)
    assert (row.email, row.name, row.roles, row.external_id, row.status) == (
        "grace@acme.example",
        "Grace",
        ["stytch_admin"],
        "crm-grace",
        "active",
    )
    assert member.member.is_admin and member.organization.organization_id == (
        organization.organization_id
    )
    got = members.get(organization_id="acme", member_id=member.member_id)
    assert got.member.email_address == "grace@acme.example"
    by_email = members.get(organization_id="acme", email_address="GRACE@acme.example")
    assert by_email.member_id == member.member_id
    changed = members.update(
        organization_id=organization.organization_id, member_id="crm-grace", name="Grace H."
    )
    assert changed.member.name == "Grace H."
    searched = members.search(
        organization_ids=[organization.organization_id],
        query={
            "operator": "AND",
            "operands": [{"filter_name": "member_emails", "filter_value": ["grace@acme.example"]}],
        },
    )
    assert [m.member_id for m in searched.members] == [member.member_id]
    assert list(searched.organizations) == [organization.organization_id]

    # A live member session; deleting the member revokes it; reactivating restores the status.
    session = b2b_sdk.sessions.attest(
        profile_id=pem_profile.profile_id,
        token=token_factory(email="grace@acme.example"),
        organization_id=organization.organization_id,
        session_duration_minutes=60,
    )
    assert session.member_id == member.member_id
    deleted = members.delete(organization_id=organization.organization_id, member_id="crm-grace")
    assert deleted.member_id == member.member_id
    row.refresh_from_db()
    assert row.status == "deleted"
    assert Session.objects.get().revoked_at is not None
    reactivated = members.reactivate(
        organization_id=organization.organization_id, member_id=member.member_id
    )
    assert reactivated.member.status == "active"
    row.refresh_from_db()
    assert row.status == "active"
    assert Session.objects.get().revoked_at is not None  # reactivation revives no session

    gone = organizations.delete(organization_id=organization.organization_id)
    assert gone.organization_id == organization.organization_id
    assert not Organization.objects.exists() and not Member.objects.exists()
    assert list(
        AuditEvent.objects.exclude(action="b2b_attest")
        .order_by("id")
        .values_list("action", "organization_id")
    ) == [
        ("organization_create", organization.organization_id),
        ("organization_update", organization.organization_id),
        ("member_create", organization.organization_id),
        ("member_update", organization.organization_id),
        ("member_delete", organization.organization_id),
        ("member_reactivate", organization.organization_id),
        ("organization_delete", organization.organization_id),
    ]


def test_organizations_and_members_through_the_async_sdk(run_async):
    created = run_async(lambda c: c.organizations.create_async(organization_name="Beta"), b2b=True)
    organization_id = created.organization.organization_id
    member = run_async(
        lambda c: c.organizations.members.create_async(
            organization_id=organization_id, email_address="kim@beta.example"
        ),
        b2b=True,
    )
    got = run_async(
        lambda c: c.organizations.members.get_async(
            organization_id=organization_id, member_id=member.member_id
        ),
        b2b=True,
    )
    deleted = run_async(
        lambda c: c.organizations.members.delete_async(
            organization_id=organization_id, member_id=member.member_id
        ),
        b2b=True,
    )
    reactivated = run_async(
        lambda c: c.organizations.members.reactivate_async(
            organization_id=organization_id, member_id=member.member_id
        ),
        b2b=True,
    )
    fetched = run_async(
        lambda c: c.organizations.get_async(organization_id=organization_id), b2b=True
    )

    assert got.member.email_address == "kim@beta.example"
    assert deleted.member_id == member.member_id
    assert reactivated.member.status == "active"
    assert fetched.organization.organization_slug == "beta"
    row = Member.objects.get(member_id=member.member_id)
    assert (row.organization.organization_id, row.status) == (organization_id, "active")


def test_member_errors_are_stytch_errors(b2b_sdk):
    organization_id = b2b_sdk.organizations.create(
        organization_name="Gamma", organization_slug="gamma"
    ).organization.organization_id
    b2b_sdk.organizations.members.create(
        organization_id=organization_id, email_address="a@gamma.example"
    )

    cases = {
        "duplicate_member": lambda: b2b_sdk.organizations.members.create(
            organization_id=organization_id, email_address="A@gamma.example"
        ),
        "duplicate_organization": lambda: b2b_sdk.organizations.create(
            organization_name="Gamma 2", organization_slug="gamma"
        ),
        "organization_not_found": lambda: b2b_sdk.organizations.get(organization_id="nope"),
        "member_not_found": lambda: b2b_sdk.organizations.members.get(
            organization_id=organization_id, member_id="member-nobody"
        ),
        "bad_request": lambda: b2b_sdk.organizations.members.create(
            organization_id=organization_id, email_address="b@gamma.example", roles=["root"]
        ),
    }
    for error_type, call in cases.items():
        with pytest.raises(StytchError) as caught:
            call()
        assert caught.value.details.error_type == error_type, caught.value.details
    assert Member.objects.count() == 1 and Organization.objects.count() == 1


# --- the envelope everywhere -------------------------------------------------------------------


def test_unknown_routes_wrong_methods_and_bad_bodies_answer_the_envelope(
    consumer_sdk, secret, tls_live_server, ca_bundle, settings
):
    import requests

    auth = (_project_id(settings), secret)
    url = tls_live_server.url
    with requests.Session() as http:
        http.verify = ca_bundle
        answers = [
            (404, "not_found", http.post(f"{url}/v1/magic_links/email/send", json={}, auth=auth)),
            (404, "not_found", http.get(f"{url}/v1/", auth=auth)),
            (404, "not_found", http.get(f"{url}/v1/users/a/b/c")),  # before authentication
            (405, "method_not_allowed", http.get(f"{url}/v1/users", auth=auth)),
            (405, "method_not_allowed", http.delete(f"{url}/v1/sessions/attest", auth=auth)),
            (
                400,
                "bad_request",
                http.post(
                    f"{url}/v1/users",
                    data=b"{not json",
                    headers={"Content-Type": "application/json"},
                    auth=auth,
                ),
            ),
            (
                400,
                "bad_request",
                http.put(f"{url}/v1/b2b/organizations/x", json=[1, 2], auth=auth),
            ),
            (
                415,
                "unsupported_media_type",
                http.put(f"{url}/v1/b2b/organizations/x", data=b"name=x", auth=auth),
            ),
        ]
    for status, error_type, response in answers:
        body = response.json()
        assert (response.status_code, body["status_code"]) == (status, status), body
        assert body["error_type"] == error_type and body["request_id"] and body["error_url"]
        assert response.headers["Content-Type"] == "application/json"
    # And the SDK parses one into a StytchError with its type (not "unknown error").
    with pytest.raises(StytchError) as caught:
        consumer_sdk.users.delete_email(email_id="email-nobody")
    assert (caught.value.details.status_code, caught.value.details.error_type) == (
        404,
        "not_found",
    )
