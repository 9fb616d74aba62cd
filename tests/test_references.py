"""One namespace per reference: an organization, member or user is named by exactly one rule.

A reference with the id prefix (``organization-``, ``member-``, ``user-``) is an id and only an
id; an organization's slug and external id live in namespaces of their own that never overlap,
so a slug or external id that could be read as another reference kind is refused where it is
written (400 naming the field), and a lookup never has to choose between two organizations.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from stytch.core.response_base import StytchError

from trusted_auth.errors import BadRequest
from trusted_auth.identities import organizations, users
from trusted_auth.models import Member, Organization, UserIdentity
from trusted_auth.sessions.secrets import create_secret

from .test_b2b import B2B_MAPPING, assert_b2b_rejected, post_b2b

pytestmark = pytest.mark.django_db


@pytest.fixture
def b2b_profile_factory(profile_factory, signer):
    def make(**fields):
        fields.setdefault("attribute_mapping", B2B_MAPPING)
        return profile_factory(pem_keys=[signer.public_pem], **fields)

    return make


def assert_bad_request(response, field: str) -> None:
    body = response.json()
    assert (response.status_code, body.get("error_type")) == (400, "bad_request"), body
    assert field in body["error_message"], body["error_message"]


@pytest.fixture
def b2b_sdk(trust_test_ca, sdk_factory):
    return sdk_factory(create_secret("references").clear_text, b2b=True)


# --- organizations: create and update ----------------------------------------------------------


def test_a_slug_that_is_another_organizations_id_is_refused_and_the_id_keeps_its_tenant(b2b_sdk):
    victim = b2b_sdk.organizations.create(
        organization_name="Zeta", organization_slug="zeta"
    ).organization

    with pytest.raises(StytchError) as caught:
        b2b_sdk.organizations.create(
            organization_name="Aardvark", organization_slug=victim.organization_id
        )

    details = caught.value.details
    assert (details.status_code, details.error_type) == (400, "bad_request")
    assert "organization_slug" in details.error_message
    assert list(Organization.objects.values_list("slug", flat=True)) == ["zeta"]
    got = b2b_sdk.organizations.get(organization_id=victim.organization_id)
    assert got.organization.organization_slug == "zeta"
    member = b2b_sdk.organizations.members.create(
        organization_id=victim.organization_id, email_address="kim@zeta.example"
    )
    assert member.organization.organization_id == victim.organization_id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("organization_slug", "ext-q"),  # Q's external id
        ("organization_external_id", "q-slug"),  # Q's slug
        ("organization_slug", "organization-0f0c3b4e-5d61-4a8b-9a47-3e2f1c0d9b8a"),
        ("organization_external_id", "organization-0f0c3b4e-5d61-4a8b-9a47-3e2f1c0d9b8a"),
        ("organization_slug", "Organization-upper-case-prefix"),
    ],
)
def test_create_refuses_a_value_another_reference_kind_could_mean(api, field, value):
    organizations.create_organization(name="Q", slug="q-slug", external_id="ext-q")

    response = api.post(
        "/v1/b2b/organizations", {"organization_name": "P", field: value}, format="json"
    )

    assert_bad_request(response, field)
    assert Organization.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("organization_slug", "ext-q"),
        ("organization_external_id", "q-slug"),
        ("organization_slug", "organization-0f0c3b4e-5d61-4a8b-9a47-3e2f1c0d9b8a"),
    ],
)
def test_update_refuses_a_value_another_reference_kind_could_mean(api, field, value):
    organizations.create_organization(name="Q", slug="q-slug", external_id="ext-q")
    p = organizations.create_organization(name="P", slug="p-slug", external_id="ext-p")

    response = api.put(f"/v1/b2b/organizations/{p.organization_id}", {field: value}, format="json")

    assert_bad_request(response, field)
    p.refresh_from_db()
    assert (p.slug, p.external_id) == ("p-slug", "ext-p")


def test_an_organizations_own_slug_may_equal_its_own_external_id(api):
    response = api.post(
        "/v1/b2b/organizations",
        {
            "organization_name": "Acme",
            "organization_slug": "acme",
            "organization_external_id": "acme",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    organization = Organization.objects.get()
    assert api.get("/v1/b2b/organizations/acme").json()["organization"]["organization_id"] == (
        organization.organization_id
    )
    renamed = api.put(
        f"/v1/b2b/organizations/{organization.organization_id}",
        {"organization_name": "Acme Inc"},
        format="json",
    )
    assert renamed.status_code == 200, renamed.json()


# --- organizations: lookups never choose ------------------------------------------------------


def test_an_id_reference_is_looked_up_as_an_id_only(api):
    q = organizations.create_organization(name="Zeta", slug="zeta")
    # Rows written before the rule (or by hand): P's slug and external id are Q's id.
    Organization.objects.create(name="Aardvark", slug=q.organization_id, external_id="x")
    Organization.objects.create(name="Abacus", slug="abacus", external_id=q.organization_id)

    body = api.get(f"/v1/b2b/organizations/{q.organization_id}").json()

    assert body["organization"]["organization_slug"] == "zeta"


def test_a_reference_two_organizations_answer_to_is_refused_not_guessed(
    api, b2b_profile_factory, token_factory
):
    q = organizations.create_organization(name="Zeta", slug="zeta", external_id="tenant-q")
    organizations.create_member(organization=q, email="ada@example.com")
    # Written before the rule: P's slug is Q's external id.
    Organization.objects.create(name="Aardvark", slug="tenant-q")
    profile = b2b_profile_factory(can_jit_provision=True)

    attest = post_b2b(api, profile.profile_id, token_factory(org="tenant-q"))
    get = api.get("/v1/b2b/organizations/tenant-q")

    assert_b2b_rejected(attest, 400, "bad_request", "tenant-q")
    assert_bad_request(get, "organization_id")
    assert Member.objects.count() == 1  # nothing JIT-created in either organization


def test_jit_never_creates_an_organization_whose_external_id_looks_like_an_id(
    api, b2b_profile_factory, token_factory
):
    profile = b2b_profile_factory(can_jit_provision=True, can_jit_create_organizations=True)
    claimed = "organization-0f0c3b4e-5d61-4a8b-9a47-3e2f1c0d9b8a"

    response = post_b2b(api, profile.profile_id, token_factory(org=claimed))

    assert_b2b_rejected(response, 404, "organization_not_found")
    assert not Organization.objects.exists()


def test_jit_never_creates_an_organization_whose_slug_is_another_ones_external_id(
    api, b2b_profile_factory, token_factory
):
    organizations.create_organization(name="Q", slug="q-slug", external_id="acme")
    profile = b2b_profile_factory(can_jit_provision=True, can_jit_create_organizations=True)

    # "Acme" is no organization's reference; its slug would be "acme", Q's external id.
    response = post_b2b(api, profile.profile_id, token_factory(org="Acme"))

    assert_b2b_rejected(response, 400, "bad_request", "organization_slug")
    assert Organization.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_both_take_one_value_in_two_namespaces():
    """Two transactions racing: P takes "shared" as its slug and has not committed when Q asks
    for "shared" as its external id. Q waits for P's commit, then sees P and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; this race needs PostgreSQL")
    p_inserted, p_may_commit = threading.Event(), threading.Event()
    q_outcome: list[object] = []

    def create_p() -> None:
        try:
            with organizations.transaction.atomic():
                organizations.create_organization(name="P", slug="shared")
                p_inserted.set()
                p_may_commit.wait(10)
        finally:
            connection.close()

    def create_q() -> None:
        try:
            organizations.create_organization(name="Q", slug="q", external_id="shared")
            q_outcome.append("created")
        except BadRequest as e:
            q_outcome.append(e)
        finally:
            connection.close()

    p = threading.Thread(target=create_p)
    p.start()
    assert p_inserted.wait(10)
    q = threading.Thread(target=create_q)
    q.start()
    time.sleep(0.5)  # without a lock Q commits here, beside P
    p_may_commit.set()
    p.join(10)
    q.join(10)

    [outcome] = q_outcome
    assert isinstance(outcome, BadRequest) and "organization_external_id" in outcome.message
    assert list(Organization.objects.values_list("slug", flat=True)) == ["shared"]


# --- members and users ------------------------------------------------------------------------


def test_a_member_external_id_that_is_another_members_id_is_refused(api):
    org = organizations.create_organization(name="Acme", slug="acme")
    victim = organizations.create_member(organization=org, email="zed@acme.example")

    created = api.post(
        f"/v1/b2b/organizations/{org.organization_id}/members",
        {"email_address": "amy@acme.example", "external_id": victim.member_id},
        format="json",
    )
    bob = organizations.create_member(organization=org, email="bob@acme.example")
    updated = api.put(
        f"/v1/b2b/organizations/{org.organization_id}/members/{bob.member_id}",
        {"external_id": victim.member_id},
        format="json",
    )

    assert_bad_request(created, "external_id")
    assert_bad_request(updated, "external_id")
    got = api.get(f"/v1/b2b/organizations/{org.organization_id}/members/{victim.member_id}")
    assert got.json()["member"]["email_address"] == "zed@acme.example"


def test_a_member_id_reference_is_looked_up_as_an_id_only(api):
    org = organizations.create_organization(name="Acme", slug="acme")
    victim = organizations.create_member(organization=org, email="zed@acme.example")
    Member.objects.create(organization=org, email="amy@acme.example", external_id=victim.member_id)

    got = api.get(f"/v1/b2b/organizations/{org.organization_id}/members/{victim.member_id}")

    assert got.json()["member"]["email_address"] == "zed@acme.example"


def test_a_user_external_id_that_looks_like_a_user_id_is_refused(api):
    victim = users.create_user(email="victim@example.com")
    other = users.create_user(email="other@example.com")

    created = api.post(
        "/v1/users", {"email": "new@example.com", "external_id": victim.user_id}, format="json"
    )
    updated = api.put(f"/v1/users/{other.user_id}", {"external_id": "user-123"}, format="json")

    assert_bad_request(created, "external_id")
    assert_bad_request(updated, "external_id")
    assert UserIdentity.objects.count() == 2
    assert api.get(f"/v1/users/{victim.user_id}").json()["emails"][0]["email"] == (
        "victim@example.com"
    )


def test_the_admin_form_refuses_a_slug_that_is_another_organizations_external_id(admin_client):
    organizations.create_organization(name="Q", slug="q-slug", external_id="ext-q")

    response = admin_client.post(
        "/admin/trusted_auth/organization/add/",
        {
            "name": "P",
            "slug": "ext-q",
            "external_id": "",
            "email_allowed_domains": "",
            **{f"members-{k}": v for k, v in MANAGEMENT_FORM.items()},
            **{f"member_sessions-{k}": v for k, v in MANAGEMENT_FORM.items()},
        },
    )

    assert response.status_code == 200  # the form again, with the error next to the slug
    assert "another organization&#x27;s external id" in response.content.decode()
    assert Organization.objects.count() == 1


MANAGEMENT_FORM = {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0", "MAX_NUM_FORMS": "0"}
