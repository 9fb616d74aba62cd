"""B2B attest (``POST /v1/b2b/sessions/attest``) and its JWKS, DESIGN.md §1, §2 and §5.

The organization an attest is for comes from the request's ``organization_id`` and/or the token's
claim mapped to ``organization_id``; a token for one organization never opens (or extends) a
session in another. Members are looked up inside that organization only. Every refusal is seen
as a client sees it (status, Stytch envelope), and leaves no session and a ``b2b_attest`` failure
event. The official SDK's ``stytch.B2BClient`` parses our answers over real TLS.
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from stytch.b2b.models.sessions import MemberSession as SDKMemberSession

from trusted_auth.adapter import DefaultTrustedAuthAdapter
from trusted_auth.errors import BadRequest
from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import AuditEvent, Member, Organization, Session
from trusted_auth.sessions.secrets import create_secret

from .test_attest_rejections import assert_rejected

B2B_ATTEST_URL = "/v1/b2b/sessions/attest"
B2B_MAPPING = {"email": "email", "token_id": "jti", "organization_id": "org", "role_ids": "roles"}
SESSION_CLAIM = "https://stytch.com/session"
ORGANIZATION_CLAIM = "https://stytch.com/organization"


# --- helpers and fixtures ----------------------------------------------------------------------


def post_b2b(api, profile_id: str, token: Any, **fields: Any):
    return api.post(
        B2B_ATTEST_URL, {"profile_id": profile_id, "token": token, **fields}, format="json"
    )


def assert_b2b_rejected(
    response, status: int, error_type: str, message: str | None = None, *, sessions: int = 0
) -> AuditEvent:
    event = assert_rejected(response, status, error_type, message, sessions=sessions)
    assert event.action == "b2b_attest"
    return event


def unverified_claims(session_jwt: str) -> dict[str, Any]:
    return jwt.decode(session_jwt, options={"verify_signature": False})


@pytest.fixture
def b2b_profile_factory(profile_factory, signer):
    def make(**fields: Any):
        fields.setdefault("attribute_mapping", B2B_MAPPING)
        return profile_factory(pem_keys=[signer.public_pem], **fields)

    return make


@pytest.fixture
def b2b_profile(b2b_profile_factory):
    """No JIT of any kind: members and organizations must exist."""
    return b2b_profile_factory()


@pytest.fixture
def org_a(db):
    return create_organization(name="Acme", slug="acme", external_id="ext-acme")


@pytest.fixture
def org_b(db):
    return create_organization(name="Beta", slug="beta", external_id="ext-beta")


@pytest.fixture
def ada_a(org_a):
    return create_member(organization=org_a, email="ada@example.com", name="Ada A")


@pytest.fixture
def ada_b(org_b):
    return create_member(organization=org_b, email="ada@example.com", name="Ada B")


# --- the official SDK over TLS (fixtures in tests/conftest.py) ---------------


@pytest.fixture
def b2b_sdk(trust_test_ca, sdk_factory):
    return sdk_factory(create_secret("b2b sdk").clear_text, b2b=True)


def test_sdk_b2b_attest_and_local_jwt_verification(
    b2b_sdk, b2b_profile_factory, token_factory, tls_live_server
):
    # The organization comes from the request only (the SDK's organization_id argument).
    b2b_profile = b2b_profile_factory(
        attribute_mapping={"email": "email", "token_id": "jti", "role_ids": "roles"},
        grantable_roles=["stytch_admin"],
    )
    org = create_organization(name="Acme", slug="acme")
    member = create_member(
        organization=org, email="grace@example.com", name="Grace", roles=["stytch_admin"]
    )
    token = token_factory(email="grace@example.com", jti="jti-b2b-sdk", roles=["stytch_admin"])

    response = b2b_sdk.sessions.attest(
        profile_id=b2b_profile.profile_id, token=token, organization_id=org.organization_id
    )

    assert response.status_code == 200 and response.request_id
    assert response.member_id == response.member.member_id == member.member_id
    assert response.member.email_address == "grace@example.com"
    assert response.organization.organization_id == org.organization_id
    assert response.organization.organization_slug == "acme"
    session = response.member_session
    assert session.member_id == member.member_id
    assert session.organization_id == org.organization_id
    assert session.roles == ["stytch_member", "stytch_admin"]
    assert [f.trusted_auth_token_factor.token_id for f in session.authentication_factors] == [
        "jti-b2b-sdk"
    ]
    assert timedelta(minutes=59) < session.expires_at - session.started_at <= timedelta(minutes=60)
    assert response.session_token and response.session_jwt
    row = Session.objects.get()
    assert row.session_id == session.member_session_id
    assert row.session_id.startswith("member-session-")
    assert 59 * 60 < (row.expires_at - row.started_at).total_seconds() <= 60 * 60
    event = AuditEvent.objects.get(action="b2b_attest")
    assert (event.action, event.outcome, event.organization_id, event.session_id) == (
        "b2b_attest",
        "success",
        org.organization_id,
        row.session_id,
    )

    # The SDK fetches /v1/b2b/sessions/jwks/<project_id> over TLS and verifies the JWT.
    claims = unverified_claims(response.session_jwt)
    assert claims["iss"] == tls_live_server.url
    assert claims[ORGANIZATION_CLAIM] == {"organization_id": org.organization_id, "slug": "acme"}
    local = b2b_sdk.sessions.authenticate_jwt_local(session_jwt=response.session_jwt)
    assert isinstance(local, SDKMemberSession)
    assert local.member_session_id == row.session_id
    assert local.organization_id == org.organization_id
    assert local.member_id == member.member_id
    assert local.roles == ["stytch_member", "stytch_admin"]


def test_b2b_jwks_endpoint_verifies_the_session_jwt(
    api, b2b_profile, token_factory, org_a, ada_a, client, settings
):
    body = post_b2b(api, b2b_profile.profile_id, token_factory(org="acme")).json()
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]

    jwks = client.get(f"/v1/b2b/sessions/jwks/{project_id}")  # public: no credentials

    assert jwks.status_code == 200
    kid = jwt.get_unverified_header(body["session_jwt"])["kid"]
    key = jwt.PyJWK(next(k for k in jwks.json()["keys"] if k["kid"] == kid))
    claims = jwt.decode(body["session_jwt"], key.key, algorithms=["RS256"], audience=project_id)
    assert claims["sub"] == ada_a.member_id
    assert claims[SESSION_CLAIM]["id"] == body["member_session"]["member_session_id"]
    assert claims[ORGANIZATION_CLAIM] == {"organization_id": org_a.organization_id, "slug": "acme"}


# --- which organization ------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["id", "slug", "external_id"])
def test_claim_names_the_organization(
    api, b2b_profile, token_factory, org_a, org_b, ada_a, ada_b, claim
):
    value = {"id": org_a.organization_id, "slug": "acme", "external_id": "ext-acme"}[claim]

    response = post_b2b(api, b2b_profile.profile_id, token_factory(org=value))

    body = response.json()
    assert response.status_code == 200, body
    assert body["organization"]["organization_id"] == org_a.organization_id
    assert body["member_id"] == ada_a.member_id
    assert body["member_session"]["organization_id"] == org_a.organization_id
    row = Session.objects.get()
    assert (row.member_id, row.organization_id) == (ada_a.pk, org_a.pk)


@pytest.mark.parametrize(
    "requested, claimed",
    [
        ("organization_id", "organization_id"),
        ("organization_id", "slug"),
        ("slug", "external_id"),
    ],
)
def test_request_and_claim_agreeing(
    api, b2b_profile, token_factory, org_a, org_b, ada_a, ada_b, requested, claimed
):
    names = {"organization_id": org_a.organization_id, "slug": "acme", "external_id": "ext-acme"}

    response = post_b2b(
        api,
        b2b_profile.profile_id,
        token_factory(org=names[claimed]),
        organization_id=names[requested],
    )

    assert response.status_code == 200, response.json()
    assert response.json()["member_id"] == ada_a.member_id
    assert Session.objects.get().organization_id == org_a.pk


def test_request_only_names_the_organization(api, b2b_profile_factory, token_factory, org_a, ada_a):
    profile = b2b_profile_factory(attribute_mapping={"email": "email", "token_id": "jti"})

    response = post_b2b(
        api, profile.profile_id, token_factory(), organization_id=org_a.organization_id
    )

    assert response.status_code == 200, response.json()
    assert response.json()["member_id"] == ada_a.member_id


def test_request_org_a_with_claim_org_b_is_a_mismatch(
    api, b2b_profile, token_factory, org_a, org_b, ada_a, ada_b
):
    response = post_b2b(
        api,
        b2b_profile.profile_id,
        token_factory(org=org_b.organization_id),
        organization_id=org_a.organization_id,
    )

    assert_b2b_rejected(response, 400, "organization_mismatch")


def test_request_org_with_claim_naming_no_organization_is_a_mismatch_even_with_jit(
    api, b2b_profile_factory, token_factory, org_a, ada_a
):
    profile = b2b_profile_factory(can_jit_provision=True, can_jit_create_organizations=True)

    response = post_b2b(
        api,
        profile.profile_id,
        token_factory(org="ext-nowhere"),
        organization_id=org_a.organization_id,
    )

    assert_b2b_rejected(response, 400, "organization_mismatch")
    assert list(Organization.objects.all()) == [org_a]  # nothing created from the claim
    assert Member.objects.count() == 1


def test_unknown_requested_organization(api, b2b_profile_factory, token_factory, org_a, ada_a):
    profile = b2b_profile_factory(
        attribute_mapping={"email": "email", "token_id": "jti"},
        can_jit_provision=True,
        can_jit_create_organizations=True,
    )

    response = post_b2b(
        api,
        profile.profile_id,
        token_factory(),
        organization_id="organization-00000000-0000-0000-0000-000000000000",
    )

    assert_b2b_rejected(response, 404, "organization_not_found")
    assert Organization.objects.count() == 1


def test_unknown_claimed_organization_without_jit_organizations(
    api, b2b_profile_factory, token_factory, org_a
):
    profile = b2b_profile_factory(can_jit_provision=True)

    response = post_b2b(api, profile.profile_id, token_factory(org="ext-nowhere"))

    assert_b2b_rejected(response, 404, "organization_not_found")
    assert list(Organization.objects.all()) == [org_a]
    assert not Member.objects.exists()


def test_neither_request_nor_mapping_names_an_organization(
    api, b2b_profile_factory, token_factory, org_a, ada_a
):
    profile = b2b_profile_factory(attribute_mapping={"email": "email", "token_id": "jti"})

    response = post_b2b(api, profile.profile_id, token_factory(org="acme"))

    event = assert_b2b_rejected(response, 400, "bad_request", "organization_id")
    assert event.profile_id == profile.pk


def test_neither_request_nor_claim_names_an_organization(
    api, b2b_profile, token_factory, org_a, ada_a
):
    response = post_b2b(api, b2b_profile.profile_id, token_factory())  # no "org" claim

    event = assert_b2b_rejected(response, 400, "bad_request", "organization_id")
    assert event.profile_id == b2b_profile.pk


def test_request_names_the_organization_when_the_token_has_no_claim(
    api, b2b_profile, token_factory, org_a, ada_a
):
    response = post_b2b(
        api, b2b_profile.profile_id, token_factory(), organization_id=org_a.organization_id
    )

    assert response.status_code == 200, response.json()
    assert response.json()["member_id"] == ada_a.member_id


# --- attaching a token to an existing member session -------------------------------------------


@pytest.mark.parametrize("session_argument", ["session_token", "session_jwt"])
def test_attach_token_for_org_a_to_session_in_org_b(
    api, b2b_profile, token_factory, org_a, org_b, ada_a, ada_b, session_argument
):
    started = post_b2b(api, b2b_profile.profile_id, token_factory(org="beta", jti="jti-b"))
    assert started.status_code == 200, started.json()
    row = Session.objects.get()
    token_a = token_factory(org="acme", jti="jti-a")

    response = post_b2b(
        api, b2b_profile.profile_id, token_a, **{session_argument: started.json()[session_argument]}
    )

    assert_b2b_rejected(response, 400, "session_user_mismatch", sessions=1)
    row.refresh_from_db()
    assert [f["trusted_auth_token_factor"]["token_id"] for f in row.authentication_factors] == [
        "jti-b"
    ]
    assert (row.member_id, row.organization_id) == (ada_b.pk, org_b.pk)
    # The refused attach did not use the token up: it still opens a session in its own org.
    again = post_b2b(api, b2b_profile.profile_id, token_a)
    assert again.status_code == 200, again.json()
    assert again.json()["member_id"] == ada_a.member_id


@pytest.mark.parametrize("session_argument", ["session_token", "session_jwt"])
def test_attach_token_for_org_a_with_explicit_org_to_session_in_org_b(
    api, b2b_profile, token_factory, org_a, org_b, ada_a, ada_b, session_argument
):
    started = post_b2b(api, b2b_profile.profile_id, token_factory(org="beta"))
    response = post_b2b(
        api,
        b2b_profile.profile_id,
        token_factory(org="acme"),
        organization_id=org_a.organization_id,
        **{session_argument: started.json()[session_argument]},
    )

    assert_b2b_rejected(response, 400, "session_user_mismatch", sessions=1)


@pytest.mark.parametrize("session_argument", ["session_token", "session_jwt"])
def test_attach_member_x_token_to_member_y_session(
    api, b2b_profile, token_factory, org_a, session_argument
):
    create_member(organization=org_a, email="x@example.com")
    create_member(organization=org_a, email="y@example.com")
    started = post_b2b(
        api, b2b_profile.profile_id, token_factory(org="acme", email="y@example.com")
    )
    assert started.status_code == 200, started.json()
    token_x = token_factory(org="acme", email="x@example.com")

    response = post_b2b(
        api, b2b_profile.profile_id, token_x, **{session_argument: started.json()[session_argument]}
    )

    assert_b2b_rejected(response, 400, "session_user_mismatch", sessions=1)
    assert len(Session.objects.get().authentication_factors) == 1
    assert post_b2b(api, b2b_profile.profile_id, token_x).status_code == 200  # not used up


@pytest.mark.parametrize("session_argument", ["session_token", "session_jwt"])
def test_attach_to_own_member_session_adds_a_factor(
    api, b2b_profile, token_factory, org_a, ada_a, session_argument
):
    started = post_b2b(api, b2b_profile.profile_id, token_factory(org="acme", jti="jti-1"))

    response = post_b2b(
        api,
        b2b_profile.profile_id,
        token_factory(org="acme", jti="jti-2"),
        **{session_argument: started.json()[session_argument]},
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (
        body["member_session"]["member_session_id"]
        == started.json()["member_session"]["member_session_id"]
    )
    row = Session.objects.get()
    assert [f["trusted_auth_token_factor"]["token_id"] for f in row.authentication_factors] == [
        "jti-1",
        "jti-2",
    ]


def test_consumer_session_cannot_be_used_for_b2b_attach(
    api, pem_profile, b2b_profile, token_factory, org_a, ada_a
):
    consumer = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_duration_minutes": 60,
        },
        format="json",
    )
    assert consumer.status_code == 200, consumer.json()

    response = post_b2b(
        api,
        b2b_profile.profile_id,
        token_factory(org="acme"),
        session_token=consumer.json()["session_token"],
    )

    assert_b2b_rejected(response, 404, "session_not_found", sessions=1)
    assert Session.objects.get().member_id is None


# --- members are per organization --------------------------------------------------------------


def test_same_email_in_two_organizations_is_two_members(
    api, b2b_profile, token_factory, org_a, org_b, ada_a, ada_b
):
    in_a = post_b2b(api, b2b_profile.profile_id, token_factory(org="acme")).json()
    in_b = post_b2b(api, b2b_profile.profile_id, token_factory(org="beta")).json()

    assert ada_a.member_id != ada_b.member_id
    assert (in_a["member_id"], in_a["member"]["name"]) == (ada_a.member_id, "Ada A")
    assert (in_b["member_id"], in_b["member"]["name"]) == (ada_b.member_id, "Ada B")
    assert in_a["member"]["organization_id"] == org_a.organization_id
    assert in_b["member"]["organization_id"] == org_b.organization_id
    assert unverified_claims(in_a["session_jwt"])["sub"] == ada_a.member_id
    assert unverified_claims(in_b["session_jwt"])["sub"] == ada_b.member_id
    assert Member.objects.count() == 2


def test_member_of_another_organization_is_not_found(
    api, b2b_profile, token_factory, org_a, org_b, ada_b
):
    response = post_b2b(api, b2b_profile.profile_id, token_factory(org="acme"))

    assert_b2b_rejected(response, 404, "member_not_found")
    assert Member.objects.get() == ada_b


# --- JIT ---------------------------------------------------------------------------------------


def test_unknown_member_without_jit(api, b2b_profile, token_factory, org_a):
    response = post_b2b(api, b2b_profile.profile_id, token_factory(org="acme"))

    assert_b2b_rejected(response, 404, "member_not_found")
    assert not Member.objects.exists()


@pytest.mark.parametrize(
    "allowed_domains, email",
    [
        ([], "new@anywhere.example"),
        (["acme.com", "acme.org"], "new@acme.com"),
        (["acme.com"], "New@ACME.com"),
    ],
)
def test_jit_creates_the_member(api, b2b_profile_factory, token_factory, allowed_domains, email):
    org = create_organization(name="Acme", slug="acme", email_allowed_domains=allowed_domains)
    profile = b2b_profile_factory(can_jit_provision=True)

    response = post_b2b(api, profile.profile_id, token_factory(org="acme", email=email))

    body = response.json()
    assert response.status_code == 200, body
    member = Member.objects.get()
    assert member.organization == org
    assert member.email.lower() == email.lower()
    assert body["member_id"] == member.member_id
    assert Session.objects.get().member == member


def test_jit_refuses_an_email_domain_outside_the_allowed_ones(
    api, b2b_profile_factory, token_factory
):
    create_organization(name="Acme", slug="acme", email_allowed_domains=["acme.com"])
    profile = b2b_profile_factory(can_jit_provision=True)

    for email in ("eve@evil.example", "eve@notacme.com", "eve@sub.acme.com"):
        response = post_b2b(api, profile.profile_id, token_factory(org="acme", email=email))
        assert_b2b_rejected(response, 403, "email_jit_provisioning_not_allowed")
    assert not Member.objects.exists()


@pytest.mark.parametrize("jit", [False, True])
def test_existing_member_is_accepted_whatever_the_allowed_domains(
    api, b2b_profile_factory, token_factory, jit
):
    org = create_organization(name="Acme", slug="acme", email_allowed_domains=["acme.com"])
    member = create_member(organization=org, email="contractor@elsewhere.example")
    profile = b2b_profile_factory(can_jit_provision=jit)

    response = post_b2b(
        api, profile.profile_id, token_factory(org="acme", email="contractor@elsewhere.example")
    )

    assert response.status_code == 200, response.json()
    assert response.json()["member_id"] == member.member_id
    assert Member.objects.count() == 1


def test_jit_organization_creation_from_the_claim(api, b2b_profile_factory, token_factory):
    profile = b2b_profile_factory(can_jit_provision=True, can_jit_create_organizations=True)

    response = post_b2b(
        api, profile.profile_id, token_factory(org="Globex Corp", email="hank@globex.example")
    )

    body = response.json()
    assert response.status_code == 200, body
    org = Organization.objects.get()
    assert org.external_id == "Globex Corp"
    assert body["organization"]["organization_id"] == org.organization_id
    member = Member.objects.get()
    assert (member.organization, member.email) == (org, "hank@globex.example")
    # A second token naming it finds the same organization.
    again = post_b2b(
        api, profile.profile_id, token_factory(org="Globex Corp", email="hank@globex.example")
    )
    assert again.json()["organization"]["organization_id"] == org.organization_id
    assert Organization.objects.count() == 1 and Member.objects.count() == 1


class VetoingAdapter(DefaultTrustedAuthAdapter):
    def pre_sign_in(self, profile, attributes, principal):
        raise BadRequest("vetoed by the host")


def test_refused_attest_leaves_no_jit_organization_behind(
    api, b2b_profile_factory, token_factory, settings
):
    no_member_jit = b2b_profile_factory(can_jit_create_organizations=True)
    full_jit = b2b_profile_factory(can_jit_create_organizations=True, can_jit_provision=True)

    response = post_b2b(api, no_member_jit.profile_id, token_factory(org="Globex"))
    assert_b2b_rejected(response, 404, "member_not_found")
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ADAPTER": f"{__name__}.VetoingAdapter"}
    response = post_b2b(api, full_jit.profile_id, token_factory(org="Initech"))
    assert_b2b_rejected(response, 400, "bad_request", "vetoed")

    assert not Organization.objects.exists()
    assert not Member.objects.exists()


def test_refused_attach_leaves_no_jit_member_or_organization_behind(
    api, b2b_profile_factory, token_factory, org_a, ada_a
):
    profile = b2b_profile_factory(can_jit_create_organizations=True, can_jit_provision=True)
    started = post_b2b(api, profile.profile_id, token_factory(org="acme"))
    assert started.status_code == 200, started.json()

    for claims in (
        {"org": "acme", "email": "newcomer@example.com"},
        {"org": "Brand New Org", "email": "ada@example.com"},
    ):
        response = post_b2b(
            api,
            profile.profile_id,
            token_factory(**claims),
            session_token=started.json()["session_token"],
        )
        assert_b2b_rejected(response, 400, "session_user_mismatch", sessions=1)

    assert list(Organization.objects.all()) == [org_a]
    assert list(Member.objects.all()) == [ada_a]


# --- roles -------------------------------------------------------------------------------------


def test_roles_from_the_token_are_bounded_by_the_profile(
    api, b2b_profile_factory, token_factory, org_a, ada_a
):
    profile = b2b_profile_factory(grantable_roles=["stytch_admin"])

    response = post_b2b(
        api,
        profile.profile_id,
        token_factory(org="acme", roles=["stytch_member", "stytch_admin", "superuser"]),
    )

    body = response.json()
    assert response.status_code == 200, body
    expected = ["stytch_member", "stytch_admin"]
    assert body["member_session"]["roles"] == expected
    assert Session.objects.get().roles == expected
    assert unverified_claims(body["session_jwt"])[SESSION_CLAIM]["roles"] == expected
    # Token roles live on the session only; the refused ones are in the audit event.
    assert Member.objects.get().roles == []
    event = AuditEvent.objects.get(action="b2b_attest")
    assert event.outcome == "success" and "superuser" in event.error_message


def test_a_profile_grants_no_role_by_default(api, b2b_profile, token_factory, org_a, ada_a):
    response = post_b2b(
        api, b2b_profile.profile_id, token_factory(org="acme", roles=["stytch_admin"])
    )

    body = response.json()
    assert response.status_code == 200, body
    assert body["member_session"]["roles"] == ["stytch_member"]
    assert "stytch_admin" in AuditEvent.objects.get(action="b2b_attest").error_message


def test_member_roles_and_token_roles_are_united(
    api, b2b_profile_factory, token_factory, org_a, settings
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ROLES": ["viewer", "editor"]}
    profile = b2b_profile_factory(grantable_roles=["editor"])
    admin = create_member(organization=org_a, email="boss@example.com", roles=["viewer"])

    response = post_b2b(
        api, profile.profile_id, token_factory(org="acme", email="boss@example.com")
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["member_id"] == admin.member_id
    assert body["member_session"]["roles"] == ["stytch_member", "viewer"]

    response = post_b2b(
        api,
        profile.profile_id,
        token_factory(org="acme", email="boss@example.com", roles=["editor"]),
    )
    claims = unverified_claims(response.json()["session_jwt"])
    assert claims[SESSION_CLAIM]["roles"] == ["stytch_member", "viewer", "editor"]
    assert Member.objects.get().roles == ["viewer"]


# --- malformed requests ------------------------------------------------------------------------


def test_invalid_json_body_is_an_audited_400(api, b2b_profile):
    response = api.post(B2B_ATTEST_URL, data="{not json", content_type="application/json")

    assert_b2b_rejected(response, 400, "bad_request", "not valid JSON")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda p: {"profile_id": p}, id="missing-token"),
        pytest.param(lambda p: ["not", "an", "object"], id="json-array"),
    ],
)
def test_malformed_request_is_an_audited_400(api, b2b_profile, body):
    response = api.post(B2B_ATTEST_URL, body(b2b_profile.profile_id), format="json")

    assert response.status_code == 400
    event = assert_b2b_rejected(response, 400, "bad_request")
    if isinstance(body(b2b_profile.profile_id), dict):
        assert event.requested_profile_id == b2b_profile.profile_id


# --- CLI ---------------------------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    out = StringIO()
    call_command("trusted_auth", *args, stdout=out)
    return json.loads(out.getvalue())


def test_cli_org_and_member(db):
    created = run_cli(
        "org", "create", "--name", "Acme", "--slug", "acme", "--email-allowed-domain", "acme.com"
    )
    org_id = created["organization_id"]
    assert org_id.startswith("organization-")
    org = Organization.objects.get(organization_id=org_id)
    assert (org.name, org.slug, org.email_allowed_domains) == ("Acme", "acme", ["acme.com"])

    listed = run_cli("org", "list")
    listed = listed if isinstance(listed, list) else listed.get("organizations", listed)
    assert [o["organization_id"] for o in listed] == [org_id]

    by_id = run_cli(
        "member",
        "create",
        "--organization",
        org_id,
        "--email",
        "x@acme.com",
        "--name",
        "Xena",
        "--role",
        "stytch_admin",
    )
    by_slug = run_cli("member", "create", "--organization", "acme", "--email", "y@acme.com")
    assert by_id["member_id"].startswith("member-") and by_slug["member_id"].startswith("member-")
    x = Member.objects.get(member_id=by_id["member_id"])
    assert (x.organization, x.email, x.name, x.roles) == (
        org,
        "x@acme.com",
        "Xena",
        ["stytch_admin"],
    )
    assert Member.objects.get(member_id=by_slug["member_id"]).organization == org

    members = run_cli("member", "list", "--organization", "acme")
    members = members if isinstance(members, list) else members.get("members", members)
    assert sorted(m["member_id"] for m in members) == sorted(
        [by_id["member_id"], by_slug["member_id"]]
    )
