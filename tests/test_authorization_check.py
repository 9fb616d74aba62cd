"""Roles and permissions, through the official Python SDK over TLS: ``authorization_check`` on
authenticate (server side) and ``authenticate_jwt_local(authorization_check=…)`` (local, with
the policy the SDK fetches from us), consumer and B2B, allow, deny and tenancy.

An authorization check is never ignored: a session holding no role that grants it is denied
(403, Stytch's error types) and stays live.
"""

from __future__ import annotations

from typing import Any

import pytest
from stytch.b2b.models.sessions import AuthorizationCheck as B2BCheck
from stytch.consumer.models.sessions import AuthorizationCheck as ConsumerCheck
from stytch.core.response_base import StytchError
from stytch.shared.rbac_local import RBACConsumerPermissionError, RBACPermissionError, TenancyError

from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import AuditEvent, Session
from trusted_auth.rbac.policy import set_project_policy
from trusted_auth.sessions.secrets import create_secret

POLICY = {
    "resources": [
        {"resource_id": "documents", "description": "Docs", "actions": ["read", "write", "delete"]},
        {"resource_id": "billing", "description": "", "actions": ["view"]},
    ],
    "roles": [
        {
            "role_id": "reader",
            "description": "Reads documents",
            "permissions": [{"resource_id": "documents", "actions": ["read"]}],
        },
        {
            "role_id": "editor",
            "description": "Everything on documents",
            "permissions": [{"resource_id": "documents", "actions": ["*"]}],
        },
        {
            "role_id": "stytch_member",
            "description": "Every member",
            "permissions": [{"resource_id": "billing", "actions": ["view"]}],
        },
    ],
    "scopes": [],
}
READ = {"resource_id": "documents", "action": "read"}
WRITE = {"resource_id": "documents", "action": "write"}
MAPPING = {"email": "email", "token_id": "jti", "role_ids": "roles", "organization_id": "org"}


@pytest.fixture
def policy(transactional_db):
    return set_project_policy(POLICY)


@pytest.fixture
def b2b_sdk(trust_test_ca, sdk_factory):
    return sdk_factory(create_secret("b2b rbac").clear_text, b2b=True)


def denial(call, **arguments) -> Any:
    """The error details of ``call(**arguments)``, which must fail."""
    with pytest.raises(StytchError) as caught:
        call(**arguments)
    return caught.value.details


# --- consumer ----------------------------------------------------------------------------------


def test_a_session_with_no_granting_role_is_denied_and_stays_live(
    sdk, policy, pem_profile, token_factory
):
    attested = sdk.sessions.attest(
        profile_id=pem_profile.profile_id, token=token_factory(), session_duration_minutes=60
    )
    assert attested.session.roles == ["stytch_user"]

    for credential in ("session_token", "session_jwt"):
        for check in (READ, {"resource_id": "nope", "action": "read"}):
            details = denial(
                sdk.sessions.authenticate,
                **{credential: getattr(attested, credential)},
                authorization_check=check,
            )
            assert (details.status_code, details.error_type) == (
                403,
                "consumer_session_authorization_error",
            )
            assert details.error_url.endswith("#consumer_session_authorization_error")

    assert Session.objects.get().revoked_at is None
    assert sdk.sessions.authenticate(session_token=attested.session_token).status_code == 200


def test_token_roles_granted_by_the_profile_allow_server_and_local_checks(
    sdk, policy, profile_factory, signer, token_factory
):
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping=MAPPING,
        grantable_roles=["editor", "reader"],
    )

    attested = sdk.sessions.attest(
        profile_id=profile.profile_id,
        token=token_factory(roles=["editor", "stytch_admin", "undefined"]),
        session_duration_minutes=60,
    )

    assert attested.session.roles == ["stytch_user", "editor"]
    event = AuditEvent.objects.get(action="attest")
    assert "stytch_admin" in event.error_message and "undefined" in event.error_message
    ok = sdk.sessions.authenticate(session_token=attested.session_token, authorization_check=WRITE)
    assert ok.status_code == 200
    details = denial(
        lambda: sdk.sessions.authenticate(
            session_token=attested.session_token,
            authorization_check={"resource_id": "billing", "action": "view"},
        )
    )
    assert details.error_type == "consumer_session_authorization_error"

    # Local: the SDK fetches GET /v1/rbac/policy and evaluates the roles in our session JWT.
    policy = sdk.rbac.policy().policy
    assert {r.role_id for r in policy.roles} >= {"stytch_user", "stytch_admin", "editor"}
    local = sdk.sessions.authenticate_jwt_local(
        session_jwt=attested.session_jwt,
        authorization_check=ConsumerCheck(resource_id="documents", action="delete"),
    )
    assert local is not None and local.roles == ["stytch_user", "editor"]
    with pytest.raises(RBACConsumerPermissionError):
        sdk.sessions.authenticate_jwt_local(
            session_jwt=attested.session_jwt,
            authorization_check=ConsumerCheck(resource_id="billing", action="view"),
        )


def test_a_malformed_check_is_a_400_that_leaves_the_session(
    api, policy, pem_profile, token_factory
):
    attested = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_duration_minutes": 60,
        },
        format="json",
    ).json()
    for check in ("documents", {"resource_id": "documents"}, {"resource_id": 1, "action": "x"}):
        response = api.post(
            "/v1/sessions/authenticate",
            {"session_token": attested["session_token"], "authorization_check": check},
            format="json",
        )
        assert response.status_code == 400, response.json()
        assert "authorization_check" in response.json()["error_message"]
    assert Session.objects.get().revoked_at is None


# --- B2B ---------------------------------------------------------------------------------------


def test_b2b_checks_allow_deny_and_tenancy_server_side_and_local(
    b2b_sdk, policy, profile_factory, signer, token_factory
):
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=MAPPING)
    acme = create_organization(name="Acme", slug="acme")
    other = create_organization(name="Other", slug="other")
    create_member(organization=acme, email="grace@example.com", roles=["reader"])

    attested = b2b_sdk.sessions.attest(
        profile_id=profile.profile_id,
        token=token_factory(email="grace@example.com", roles=["editor"]),  # not grantable
        organization_id=acme.organization_id,
    )
    assert attested.member_session.roles == ["stytch_member", "reader"]
    token = attested.session_token
    org = acme.organization_id

    allowed = b2b_sdk.sessions.authenticate(
        session_token=token, authorization_check={"organization_id": org, **READ}
    )
    assert allowed.verdict is not None and allowed.verdict.granting_roles == ["reader"]
    details = denial(
        lambda: b2b_sdk.sessions.authenticate(
            session_token=token, authorization_check={"organization_id": org, **WRITE}
        )
    )
    assert (details.status_code, details.error_type) == (403, "session_authorization_error")
    details = denial(
        lambda: b2b_sdk.sessions.authenticate(
            session_token=token,
            authorization_check={"organization_id": other.organization_id, **READ},
        )
    )
    assert (details.status_code, details.error_type) == (
        403,
        "session_authorization_tenancy_error",
    )
    assert Session.objects.get().revoked_at is None

    # Local: GET /v1/b2b/rbac/policy and /v1/b2b/rbac/organizations/{id}.
    local = b2b_sdk.sessions.authenticate_jwt_local(
        session_jwt=attested.session_jwt,
        authorization_check=B2BCheck(organization_id=org, resource_id="billing", action="view"),
    )
    assert local is not None and local.roles == ["stytch_member", "reader"]
    with pytest.raises(RBACPermissionError):
        b2b_sdk.sessions.authenticate_jwt_local(
            session_jwt=attested.session_jwt,
            authorization_check=B2BCheck(organization_id=org, **WRITE),
        )
    with pytest.raises(TenancyError):
        b2b_sdk.sessions.authenticate_jwt_local(
            session_jwt=attested.session_jwt,
            authorization_check=B2BCheck(organization_id=other.organization_id, **READ),
        )


def test_an_org_role_and_an_implicit_role_take_effect(
    b2b_sdk, policy, profile_factory, signer, token_factory
):
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=MAPPING)
    acme = create_organization(name="Acme", slug="acme")
    other = create_organization(name="Other", slug="other")
    org = acme.organization_id
    updated = b2b_sdk.organizations.update(
        organization_id=org,
        rbac_email_implicit_role_assignments=[{"domain": "@Example.com", "role_id": "reader"}],
    )
    implicit = updated.organization.rbac_email_implicit_role_assignments
    assert [(a.domain, a.role_id) for a in implicit] == [("example.com", "reader")]
    details = denial(
        b2b_sdk.organizations.update,
        organization_id=org,
        rbac_email_implicit_role_assignments=[{"domain": "example.com", "role_id": "root"}],
    )
    assert details.status_code == 400 and "root" in details.error_message
    auditor = {
        "role_id": "auditor",
        "description": "Acme's auditors",
        "permissions": [{"resource_id": "documents", "actions": ["delete"]}],
    }

    answer = b2b_sdk.rbac.organizations.set_org_policy(org, {"roles": [auditor]})
    assert [r.role_id for r in answer.org_policy.roles] == ["auditor"]
    fetched = b2b_sdk.rbac.organizations.get_org_policy(org).org_policy
    assert [r.role_id for r in fetched.roles] == ["auditor"]
    assert b2b_sdk.rbac.organizations.get_org_policy(other.organization_id).org_policy.roles == []
    assert AuditEvent.objects.filter(action="rbac_org_policy_set", organization_id=org).exists()
    # The org role is assignable in its organization only.
    create_member(organization=acme, email="grace@example.com", roles=["auditor"])
    details = denial(
        lambda: b2b_sdk.organizations.members.create(
            organization_id=other.organization_id, email_address="x@other.test", roles=["auditor"]
        )
    )
    assert details.status_code == 400 and "auditor" in details.error_message

    attested = b2b_sdk.sessions.attest(
        profile_id=profile.profile_id,
        token=token_factory(email="grace@example.com"),
        organization_id=org,
    )

    assert attested.member_session.roles == ["stytch_member", "auditor", "reader"]
    for check in ({"resource_id": "documents", "action": "delete"}, READ):
        response = b2b_sdk.sessions.authenticate(
            session_token=attested.session_token,
            authorization_check={"organization_id": org, **check},
        )
        assert response.status_code == 200
    b2b_sdk.sessions.authenticate_jwt_local(
        session_jwt=attested.session_jwt,
        authorization_check=B2BCheck(organization_id=org, resource_id="documents", action="delete"),
    )
