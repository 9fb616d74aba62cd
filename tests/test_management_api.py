"""Users, organizations and members: the rules behind ``/v1/users`` and
``/v1/b2b/organizations`` (in-process client; the SDK runs in ``test_sdk_surface.py``), the CLI
``user`` group on the same service, and the signals."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from trusted_auth import signals
from trusted_auth.errors import DuplicateEmail
from trusted_auth.identities import organizations, users
from trusted_auth.models import AuditEvent, Member, UserIdentity

pytestmark = pytest.mark.django_db


def run(*args: str):
    out, err = StringIO(), StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_cli_user_create_and_list_share_the_service():
    created, note = run("user", "create", "--email", "cli@example.com", "--name", "Cli")
    run("user", "create", "--email", "other@example.com", "--external-id", "crm-2")

    identity = UserIdentity.objects.get(email="cli@example.com")
    assert created["user_id"] == identity.user_id and identity.name == {"first_name": "Cli"}
    assert "pre-provisioned" in note
    listed, _ = run("user", "list")
    assert [u["email"] for u in listed] == ["cli@example.com", "other@example.com"]
    only, _ = run("user", "list", "--email", "OTHER@example.com")
    assert [u["external_id"] for u in only] == ["crm-2"]
    with pytest.raises(CommandError, match="already exists"):
        run("user", "create", "--email", "cli@example.com")
    assert AuditEvent.objects.filter(action="user_create").count() == 2


def test_creating_a_user_for_an_existing_django_account_is_refused():
    get_user_model().objects.create_user(username="admin", email="boss@example.com", is_staff=True)

    with pytest.raises(DuplicateEmail):
        users.create_user(email="Boss@example.com")

    assert not UserIdentity.objects.exists()  # no claimable identity on a staff account


@pytest.mark.parametrize("external_id", ["has space", "x" * 129, "ünï", 7])
def test_external_ids_follow_stytch_rules(api, external_id):
    response = api.post(
        "/v1/users", {"email": "e@example.com", "external_id": external_id}, format="json"
    )

    assert (response.status_code, response.json()["error_type"]) == (400, "bad_request")
    assert not UserIdentity.objects.exists()


def test_update_rejects_an_external_id_another_user_has(api):
    users.create_user(email="a@example.com", external_id="crm-a")
    b = users.create_user(email="b@example.com")

    response = api.put(f"/v1/users/{b.user_id}", {"external_id": "crm-a"}, format="json")

    assert (response.status_code, response.json()["error_type"]) == (409, "duplicate_external_id")
    b.refresh_from_db()
    assert b.external_id == ""


def test_deleted_users_leave_search_and_keep_their_row(api):
    kept = users.create_user(email="kept@example.com")
    gone = users.create_user(email="gone@example.com")
    users.delete_user(gone.user_id)

    body = api.post("/v1/users/search", {}, format="json").json()

    assert [u["user_id"] for u in body["results"]] == [kept.user_id]
    assert body["results_metadata"] == {"total": 1, "next_cursor": None}
    assert UserIdentity.objects.get(pk=gone.pk).status == "deleted"
    response = api.delete(f"/v1/users/{gone.user_id}")
    assert (response.status_code, response.json()["error_type"]) == (404, "user_not_found")


@pytest.mark.parametrize(
    "query",
    [
        {"operator": "XOR", "operands": []},
        {"operator": "AND", "operands": [{"filter_name": "phone_number", "filter_value": ["1"]}]},
        {"operator": "AND", "operands": [{"filter_name": "user_id", "filter_value": "user-1"}]},
        "everything",
    ],
)
def test_a_search_query_we_cannot_honour_is_refused_not_widened(api, query):
    users.create_user(email="a@example.com")

    response = api.post("/v1/users/search", {"query": query}, format="json")

    assert (response.status_code, response.json()["error_type"]) == (400, "bad_request")


def test_management_endpoints_need_the_project_secret(client):
    for method, path in [
        ("post", "/v1/users"),
        ("get", "/v1/users/user-x"),
        ("post", "/v1/b2b/organizations"),
        ("post", "/v1/b2b/organizations/members/search"),
    ]:
        response = getattr(client, method)(path, {}, content_type="application/json")
        assert (response.status_code, response.json()["error_type"]) == (
            401,
            "unauthorized_credentials",
        )


def test_provisioning_signals_name_the_model_class():
    received = []

    def on_user(sender, identity, user, **kwargs):
        received.append((sender, identity.email, user.pk))

    def on_member(sender, member, **kwargs):
        received.append((sender, member.email, None))

    signals.user_provisioned.connect(on_user)
    signals.member_provisioned.connect(on_member)
    try:
        identity = users.create_user(email="sig@example.com")
        organization = organizations.create_organization(name="Sig")
        organizations.create_member(organization=organization, email="m@sig.example")
    finally:
        signals.user_provisioned.disconnect(on_user)
        signals.member_provisioned.disconnect(on_member)

    assert received == [
        (UserIdentity, "sig@example.com", identity.django_user_id),
        (Member, "m@sig.example", None),
    ]


def test_member_search_needs_organization_ids_and_pages(api):
    organization = organizations.create_organization(name="Pages")
    for n in range(3):
        organizations.create_member(organization=organization, email=f"m{n}@pages.example")

    missing = api.post("/v1/b2b/organizations/members/search", {}, format="json")
    first = api.post(
        "/v1/b2b/organizations/members/search",
        {"organization_ids": [organization.organization_id], "limit": 2},
        format="json",
    ).json()
    second = api.post(
        "/v1/b2b/organizations/members/search",
        {
            "organization_ids": [organization.organization_id],
            "limit": 2,
            "cursor": first["results_metadata"]["next_cursor"],
        },
        format="json",
    ).json()

    assert (missing.status_code, missing.json()["error_type"]) == (400, "bad_request")
    emails = [m["email_address"] for m in first["members"] + second["members"]]
    assert emails == ["m0@pages.example", "m1@pages.example", "m2@pages.example"]
    assert second["results_metadata"]["next_cursor"] is None
