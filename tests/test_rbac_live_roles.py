"""Role changes reach a live session on its next authenticate (or session-token bearer use):
a member's explicit roles, an organization's implicit roles, a policy that stops defining a
token-granted role, a profile that may no longer grant one. The session JWT authenticate
returns and the ``authorization_check`` verdict carry the new roles; a session JWT already
handed out keeps its roles until it expires."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trusted_auth.identities.organizations import (
    create_member,
    create_organization,
    update_member,
)
from trusted_auth.models import Organization, RbacPolicy, Session, TrustedAuthTokenProfile
from trusted_auth.rbac.policy import set_project_policy
from trusted_auth.sessions.secrets import create_secret
from trusted_auth.sessions.session_jwt import SESSION_CLAIM, issue_session_jwt

from .test_authorization_check import MAPPING, POLICY, READ, WRITE, denial
from .test_oauth import client_auth, exchange, oauth  # noqa: F401 - fixtures
from .test_rbac_permissions import WriteDocuments, call


def jwt_roles(session_jwt: str) -> list[str]:
    return jwt.decode(session_jwt, options={"verify_signature": False})[SESSION_CLAIM]["roles"]


def authenticate(api, path: str, session_token: str, check: dict[str, Any] | None = None):
    body: dict[str, Any] = {"session_token": session_token}
    if check is not None:
        body["authorization_check"] = check
    return api.post(path, body, format="json")


def set_member_roles(api, organization: Organization, attested: dict, roles: list[str]) -> None:
    """Change the attested member's explicit roles through the members API."""
    member_id = attested["member"]["member_id"]
    response = api.put(
        f"/v1/b2b/organizations/{organization.organization_id}/members/{member_id}",
        {"roles": roles},
        format="json",
    )
    assert response.status_code == 200, response.json()


@pytest.fixture
def acme(db) -> Organization:
    RbacPolicy.objects.create(**POLICY)
    return create_organization(name="Acme", slug="acme")


@pytest.fixture
def member_session(api, acme, profile_factory, signer, token_factory):
    """Attest a B2B session for grace@example.com in Acme; her member has ``roles``."""
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=MAPPING)

    def start(roles: list[str]) -> dict[str, Any]:
        create_member(organization=acme, email="grace@example.com", roles=roles)
        response = api.post(
            "/v1/b2b/sessions/attest",
            {
                "profile_id": profile.profile_id,
                "token": token_factory(email="grace@example.com"),
                "organization_id": acme.organization_id,
            },
            format="json",
        )
        assert response.status_code == 200, response.json()
        return response.json()

    return start


B2B = "/v1/b2b/sessions/authenticate"
CONSUMER = "/v1/sessions/authenticate"


def test_a_members_new_roles_reach_the_session_on_its_next_authenticate(api, acme, member_session):
    attested = member_session(["editor"])
    token, org = attested["session_token"], acme.organization_id
    before = authenticate(api, B2B, token, {"organization_id": org, **WRITE})
    assert before.status_code == 200, before.json()
    assert jwt_roles(before.json()["session_jwt"]) == ["stytch_member", "editor"]

    set_member_roles(api, acme, attested, ["reader"])

    denied = authenticate(api, B2B, token, {"organization_id": org, **WRITE})
    assert (denied.status_code, denied.json()["error_type"]) == (403, "session_authorization_error")
    after = authenticate(api, B2B, token, {"organization_id": org, **READ})
    assert after.status_code == 200, after.json()
    body = after.json()
    assert body["member_session"]["roles"] == ["stytch_member", "reader"]
    assert body["verdict"]["granting_roles"] == ["reader"]
    assert jwt_roles(body["session_jwt"]) == ["stytch_member", "reader"]
    assert Session.objects.get().roles == ["stytch_member", "reader"]


def test_an_implicit_role_added_to_the_organization_reaches_the_session(api, acme, member_session):
    attested = member_session([])
    token, org = attested["session_token"], acme.organization_id
    denied = authenticate(api, B2B, token, {"organization_id": org, **READ})
    assert denied.status_code == 403

    updated = api.put(
        f"/v1/b2b/organizations/{org}",
        {"rbac_email_implicit_role_assignments": [{"domain": "example.com", "role_id": "reader"}]},
        format="json",
    )
    assert updated.status_code == 200, updated.json()

    allowed = authenticate(api, B2B, token, {"organization_id": org, **READ})
    assert allowed.status_code == 200, allowed.json()
    assert allowed.json()["member_session"]["roles"] == ["stytch_member", "reader"]
    assert jwt_roles(allowed.json()["session_jwt"]) == ["stytch_member", "reader"]


def test_an_extend_recomputes_the_roles_too(api, acme, member_session):
    """The slow path (session_duration_minutes, on the locked row) writes the new roles."""
    attested = member_session(["editor"])
    set_member_roles(api, acme, attested, [])

    response = api.post(
        B2B,
        {"session_token": attested["session_token"], "session_duration_minutes": 30},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["member_session"]["roles"] == ["stytch_member"]
    assert Session.objects.get().roles == ["stytch_member"]


# --- roles from the token ----------------------------------------------------------------------


@pytest.fixture
def token_editor(api, profile_factory, signer, token_factory):
    """A consumer session whose token granted ``editor`` (the profile may grant it)."""
    set_project_policy(POLICY)
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping=MAPPING,
        grantable_roles=["editor"],
    )
    attested = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(roles=["editor", "reader"]),
            "session_duration_minutes": 60,
        },
        format="json",
    ).json()
    assert attested["session"]["roles"] == ["stytch_user", "editor"]
    return profile, attested


def test_the_session_keeps_the_roles_its_token_granted_apart(token_editor):
    session = Session.objects.get()
    assert session.token_roles == ["editor"]
    assert session.roles == ["stytch_user", "editor"]


def test_a_policy_that_stops_defining_a_token_role_takes_it_off_the_session(api, token_editor):
    _, attested = token_editor
    token = attested["session_token"]
    assert authenticate(api, CONSUMER, token, WRITE).status_code == 200

    set_project_policy(
        {**POLICY, "roles": [r for r in POLICY["roles"] if r["role_id"] != "editor"]}
    )

    denied = authenticate(api, CONSUMER, token, WRITE)
    assert (denied.status_code, denied.json()["error_type"]) == (
        403,
        "consumer_session_authorization_error",
    )
    body = authenticate(api, CONSUMER, token).json()
    assert body["session"]["roles"] == ["stytch_user"]
    assert jwt_roles(body["session_jwt"]) == ["stytch_user"]

    # Defined again: the token granted it and the profile may grant it, so it comes back.
    set_project_policy(POLICY)
    assert authenticate(api, CONSUMER, token, WRITE).status_code == 200
    assert Session.objects.get().roles == ["stytch_user", "editor"]


def test_a_profile_that_may_no_longer_grant_a_role_takes_it_off(api, token_editor):
    profile, attested = token_editor
    token = attested["session_token"]
    profile.grantable_roles = []
    profile.save()

    assert authenticate(api, CONSUMER, token, WRITE).status_code == 403
    assert authenticate(api, CONSUMER, token).json()["session"]["roles"] == ["stytch_user"]


def test_a_deleted_profile_grants_nothing(api, token_editor):
    profile, attested = token_editor
    TrustedAuthTokenProfile.objects.filter(pk=profile.pk).delete()

    body = authenticate(api, CONSUMER, attested["session_token"]).json()

    assert body["session"]["roles"] == ["stytch_user"]


def test_nothing_changed_costs_no_write_and_no_profile_or_policy_read(
    transactional_db, api, token_editor
):
    """Committed, so the process copies are kept (a copy read in a transaction is not)."""
    _, attested = token_editor
    token = attested["session_token"]
    authenticate(api, CONSUMER, token)  # the process caches are warm now

    with CaptureQueriesContext(connection) as queries:
        response = authenticate(api, CONSUMER, token)

    assert response.status_code == 200
    statements = [query["sql"].lower() for query in queries.captured_queries]
    assert not [s for s in statements if s.startswith("update")], statements
    for table in (TrustedAuthTokenProfile._meta.db_table, RbacPolicy._meta.db_table):
        assert not [s for s in statements if table in s], statements


# --- the session JWT and the bearer class ------------------------------------------------------


def test_a_reused_session_jwt_is_never_one_signed_with_old_roles(token_editor):
    session = Session.objects.get()
    subject = jwt.decode(token_editor[1]["session_jwt"], options={"verify_signature": False})["sub"]
    first = issue_session_jwt(session, subject, reuse=True)
    assert issue_session_jwt(session, subject, reuse=True) == first

    session.roles = ["stytch_user"]

    fresh = issue_session_jwt(session, subject, reuse=True)
    assert jwt_roles(fresh) == ["stytch_user"]


def test_a_session_token_bearer_sees_the_current_roles_a_session_jwt_keeps_its_own(
    api, acme, member_session
):
    attested = member_session([])
    view = WriteDocuments.as_view()
    assert call(view, attested["session_token"]).status_code == 403

    set_member_roles(api, acme, attested, ["editor"])

    assert call(view, attested["session_token"]).status_code == 200
    assert Session.objects.get().roles == ["stytch_member", "editor"]
    # The session JWT from before the change carries the roles it was signed with.
    assert call(view, attested["session_jwt"]).status_code == 403


def test_with_bearer_check_revocation_a_session_jwt_sees_the_current_roles(
    api, acme, member_session, settings
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "BEARER_CHECK_REVOCATION": True}
    attested = member_session([])
    view = WriteDocuments.as_view()
    assert call(view, attested["session_jwt"]).status_code == 403

    set_member_roles(api, acme, attested, ["editor"])

    assert call(view, attested["session_jwt"]).status_code == 200


def test_oauth_introspection_answers_the_current_roles(
    oauth,  # noqa: F811 - the fixture imported above
    acme,
    pem_profile,
    token_factory,
):
    member = create_member(organization=acme, email="ada@example.com")
    response = exchange(oauth, token_factory(), organization_id=acme.organization_id)
    assert response.status_code == 200, response.json()
    access_token = response.json()["access_token"]
    assert oauth("introspect", token=access_token).json()["roles"] == ["stytch_member"]

    update_member(acme, member.member_id, roles=["editor"])

    introspection = oauth("introspect", token=access_token).json()
    assert introspection["roles"] == ["stytch_member", "editor"]


# --- end to end, with the official Python SDK over TLS -----------------------------------------


def test_sdk_b2b_authenticate_flips_from_deny_to_allow_when_a_role_is_granted(
    trust_test_ca, sdk_factory, profile_factory, signer, token_factory, transactional_db
):
    b2b = sdk_factory(create_secret("b2b live roles").clear_text, b2b=True)
    set_project_policy(POLICY)
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=MAPPING)
    acme = create_organization(name="Acme", slug="acme")
    org = acme.organization_id
    member = create_member(organization=acme, email="grace@example.com", roles=["reader"])
    attested = b2b.sessions.attest(
        profile_id=profile.profile_id,
        token=token_factory(email="grace@example.com"),
        organization_id=org,
    )
    check = {"organization_id": org, **WRITE}
    details = denial(
        b2b.sessions.authenticate, session_token=attested.session_token, authorization_check=check
    )
    assert (details.status_code, details.error_type) == (403, "session_authorization_error")

    b2b.organizations.members.update(
        organization_id=org, member_id=member.member_id, roles=["reader", "editor"]
    )

    allowed = b2b.sessions.authenticate(
        session_token=attested.session_token, authorization_check=check
    )
    assert allowed.verdict is not None and allowed.verdict.granting_roles == ["editor"]
    assert allowed.member_session.roles == ["stytch_member", "reader", "editor"]
    assert jwt_roles(allowed.session_jwt) == ["stytch_member", "reader", "editor"]
