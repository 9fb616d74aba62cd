"""One email rule everywhere (DESIGN.md §4 step 5): attest, links, JIT, users and members, and
every management lookup and search.

An address is NFC, ASCII, at most 254 characters, free of control characters and valid for
Django's ``EmailValidator``; it is compared by ASCII case-folding only. Anything else is refused
with a 400 naming the field (401 ``jwt_invalid_claims`` in attest), never folded into someone
else's address: ``Kevin@…`` written with U+212A KELVIN SIGN is not ``kevin@…``.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from trusted_auth.identities import organizations, users
from trusted_auth.models import IdentityLink, Member, UserIdentity

from .test_attest_rejections import assert_rejected, post_attest

pytestmark = pytest.mark.django_db

KELVIN = "\u212aevin@example.com"  # "Kevin" with U+212A KELVIN SIGN, which lower() makes "k"
LONG_S = "\u017fam@example.com"  # "sam" with U+017F LONG S, which upper() makes "S"


def long_address(length: int) -> str:
    """A syntactically valid address of ``length`` characters (Django's validator takes it)."""
    domain = ".".join(["d" * 60] * 3) + ".example.com"
    return "a" * (length - len(domain) - 1) + "@" + domain


LONG = long_address(302)
BAD_EMAILS = [
    pytest.param(KELVIN, "ASCII", id="kelvin-sign"),
    pytest.param(LONG_S, "ASCII", id="long-s"),
    pytest.param('"a\x01b"@example.com', "control", id="control-in-quoted-local-part"),
    pytest.param('"a\x7fb"@example.com', "control", id="delete-in-quoted-local-part"),
    pytest.param(LONG, "254", id="302-characters"),
    pytest.param("kevin@ex\u00e4mple.com", "ASCII", id="non-ascii-domain"),
    pytest.param("no-at-sign", "valid", id="not-an-address"),
]


def assert_bad_request(response, field: str, reason: str) -> None:
    body = response.json()
    assert (response.status_code, body.get("error_type")) == (400, "bad_request"), body
    assert field in body["error_message"] and reason in body["error_message"], body


# --- the rule ---------------------------------------------------------------------------------


def test_an_address_of_254_characters_is_accepted_as_given(api):
    address = long_address(254).replace("a@", "A@")

    response = api.post("/v1/users", {"email": address}, format="json")

    assert response.status_code == 200, response.json()
    assert UserIdentity.objects.get().email == address  # stored as given, compared folded


# --- management lookups and searches ----------------------------------------------------------


def test_user_search_by_email_refuses_a_look_alike_and_folds_ascii_case(api):
    kevin = users.create_user(email="kevin@example.com")

    look_alike = api.post(
        "/v1/users/search",
        {
            "query": {
                "operator": "AND",
                "operands": [{"filter_name": "email_address", "filter_value": [KELVIN]}],
            }
        },
        format="json",
    )
    upper = api.post(
        "/v1/users/search",
        {
            "query": {
                "operator": "AND",
                "operands": [
                    {"filter_name": "email_address", "filter_value": ["KEVIN@Example.com"]}
                ],
            }
        },
        format="json",
    )

    assert_bad_request(look_alike, "email_address", "ASCII")
    assert [u["user_id"] for u in upper.json()["results"]] == [kevin.user_id]


def test_member_lookup_and_search_by_email_refuse_a_look_alike(api):
    org = organizations.create_organization(name="Acme", slug="acme")
    kevin = organizations.create_member(organization=org, email="kevin@example.com")

    lookup = api.get(
        f"/v1/b2b/organizations/{org.organization_id}/member", {"email_address": KELVIN}
    )
    search = api.post(
        "/v1/b2b/organizations/members/search",
        {
            "organization_ids": [org.organization_id],
            "query": {
                "operator": "AND",
                "operands": [{"filter_name": "member_emails", "filter_value": [KELVIN]}],
            },
        },
        format="json",
    )
    upper = api.get(
        f"/v1/b2b/organizations/{org.organization_id}/member",
        {"email_address": "Kevin@EXAMPLE.com"},
    )

    assert_bad_request(lookup, "email_address", "ASCII")
    assert_bad_request(search, "member_emails", "ASCII")
    assert upper.json()["member_id"] == kevin.member_id


@pytest.mark.parametrize("fuzzy", ["\u212aevin", "a\x01b"])
def test_fuzzy_email_filters_follow_the_rule_too(api, fuzzy):
    users.create_user(email="kevin@example.com")

    response = api.post(
        "/v1/users/search",
        {
            "query": {
                "operator": "AND",
                "operands": [{"filter_name": "email_address_fuzzy", "filter_value": fuzzy}],
            }
        },
        format="json",
    )

    assert_bad_request(response, "email_address_fuzzy", "")


def test_fuzzy_email_filters_fold_ascii_case_and_skip_look_alikes(api):
    sam = users.create_user(email="sam@example.com")
    user = get_user_model().objects.create_user("long-s", LONG_S)
    UserIdentity.objects.create(django_user=user, email=LONG_S)  # written before the rule
    org = organizations.create_organization(name="Acme", slug="acme")
    member = organizations.create_member(organization=org, email="sam@example.com")
    Member.objects.create(organization=org, email=LONG_S)

    found_users = api.post(
        "/v1/users/search",
        {"query": query("email_address_fuzzy", "SAM@")},
        format="json",
    ).json()
    found_members = api.post(
        "/v1/b2b/organizations/members/search",
        {"organization_ids": [org.organization_id], "query": query("member_email_fuzzy", "SAM@")},
        format="json",
    ).json()

    assert [u["user_id"] for u in found_users["results"]] == [sam.user_id]
    assert [m["member_id"] for m in found_members["members"]] == [member.member_id]


def query(name: str, value: object) -> dict:
    return {"operator": "AND", "operands": [{"filter_name": name, "filter_value": value}]}


# --- creating and updating users and members --------------------------------------------------


@pytest.mark.parametrize(("email", "reason"), BAD_EMAILS)
def test_a_user_with_an_email_outside_the_rule_is_not_created(api, email, reason):
    response = api.post("/v1/users", {"email": email}, format="json")

    assert_bad_request(response, "email", reason)
    assert not UserIdentity.objects.exists() and not get_user_model().objects.exists()


@pytest.mark.parametrize(("email", "reason"), BAD_EMAILS)
def test_a_member_with_an_email_outside_the_rule_is_neither_created_nor_updated(api, email, reason):
    org = organizations.create_organization(name="Acme", slug="acme")
    member = organizations.create_member(organization=org, email="ada@example.com")

    created = api.post(
        f"/v1/b2b/organizations/{org.organization_id}/members",
        {"email_address": email},
        format="json",
    )
    updated = api.put(
        f"/v1/b2b/organizations/{org.organization_id}/members/{member.member_id}",
        {"email_address": email},
        format="json",
    )

    assert_bad_request(created, "email_address", reason)
    assert_bad_request(updated, "email_address", reason)
    assert list(Member.objects.values_list("email", flat=True)) == ["ada@example.com"]


def test_the_cli_refuses_an_email_outside_the_rule():
    with pytest.raises(CommandError, match="254"):
        call_command("trusted_auth", "user", "create", "--email", LONG, stdout=StringIO())
    out = StringIO()
    call_command("trusted_auth", "user", "list", "--email", "ADA@example.com", stdout=out)
    assert json.loads(out.getvalue()) == []


# --- attest -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        pytest.param('"a\x01b"@example.com', "control", id="control-in-quoted-local-part"),
        pytest.param(LONG, "254", id="302-characters"),
        pytest.param(KELVIN, "ASCII", id="kelvin-sign"),
    ],
)
def test_attest_refuses_a_mapped_email_outside_the_rule(
    api, pem_profile, token_factory, email, reason
):
    response = post_attest(
        api, pem_profile.profile_id, token_factory(email=email), session_duration_minutes=60
    )

    assert_rejected(response, 401, "jwt_invalid_claims", "mapped email")
    assert reason in response.json()["error_message"]
    assert not UserIdentity.objects.exists()


def test_a_token_email_in_another_case_reaches_the_same_user_and_link(
    api, profile_factory, signer, token_factory
):
    profile = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)

    first = post_attest(api, profile.profile_id, token_factory(email="Ada@Example.com"))
    second = post_attest(api, profile.profile_id, token_factory(email="ada@example.COM"))

    assert first.json()["user_id"] == second.json()["user_id"]
    assert IdentityLink.objects.get().subject == "ada@example.com"


def test_a_look_alike_account_is_never_reached_by_an_ascii_email(
    api, profile_factory, signer, token_factory
):
    """A host account whose email is written with U+017F LONG S (the host's own table, no rule
    of ours) is another address: a token for sam@example.com never links to it, even where
    the database folds Unicode case (PostgreSQL's UPPER makes it "SAM@EXAMPLE.COM")."""
    look_alike = get_user_model().objects.create_user("long-s", LONG_S)
    profile = profile_factory(
        pem_keys=[signer.public_pem], can_jit_provision=True, link_policy="email"
    )

    response = post_attest(
        api,
        profile.profile_id,
        token_factory(email="sam@example.com"),
        session_duration_minutes=60,
    )

    assert response.status_code == 200, response.json()
    identity = UserIdentity.objects.get(user_id=response.json()["user_id"])
    assert identity.django_user != look_alike and identity.email == "sam@example.com"
    assert not UserIdentity.objects.filter(django_user=look_alike).exists()


def test_search_never_returns_a_stored_look_alike(api):
    """A row written before the rule (or by hand) with the Kelvin sign is not kevin@…, on
    SQLite (ASCII LOWER) and on PostgreSQL (Unicode LOWER) alike."""
    user = get_user_model().objects.create_user("kelvin", KELVIN)
    UserIdentity.objects.create(django_user=user, email=KELVIN)

    response = api.post(
        "/v1/users/search",
        {
            "query": {
                "operator": "AND",
                "operands": [
                    {"filter_name": "email_address", "filter_value": ["kevin@example.com"]}
                ],
            }
        },
        format="json",
    )

    assert response.json()["results"] == [], connection.vendor


@pytest.mark.parametrize(("email", "reason"), BAD_EMAILS[:5])
def test_the_admin_changes_no_identity_email_outside_the_rule(admin_client, email, reason):
    identity = users.create_user(email="ada@example.com")
    url = f"/admin/trusted_auth/useridentity/{identity.pk}/change/"
    form = {
        "django_user": identity.django_user_id,
        "email": email,
        "name": "{}",
        "external_id": "",
        "status": "active",
        "provisioned_by": "operator",
        "links-TOTAL_FORMS": "0",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 200  # the form again, the error next to the email
    assert reason in response.context["adminform"].form.errors["email"][0]
    identity.refresh_from_db()
    assert identity.email == "ada@example.com"
