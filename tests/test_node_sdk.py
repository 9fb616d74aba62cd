"""The official Node SDK (``tests/node``, pinned) calls ``get_jwks``, ``users.create`` and
authorization checks (server side and local) against us over TLS. Skipped when node or
``tests/node/node_modules`` is missing, except under ``CI``, where a missing Node SDK is a
failure."""

from __future__ import annotations

import base64
import json

from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import AuditEvent, SigningKey, UserIdentity
from trusted_auth.rbac.policy import set_project_policy
from trusted_auth.sessions.secrets import create_secret

from .node_runner import node_with, run_node
from .test_authorization_check import MAPPING, POLICY


def test_node_sdk_reads_our_jwks_and_creates_a_user(tls_live_server, ca_bundle, settings):
    result = run_node(
        node_with("stytch"),
        "sdk_surface.js",
        ca_bundle,
        TA_BASE_URL=f"{tls_live_server.url}/",
        TA_PROJECT_ID=settings.TRUSTED_AUTH["PROJECT_ID"],
        TA_SECRET=create_secret("node sdk").clear_text,
        TA_EMAIL="node@example.com",
    )
    key = SigningKey.objects.get(state="current")
    [jwk] = result["jwks"]["keys"]
    assert jwk["kid"] == key.kid
    assert base64.b64decode(jwk["x5c"][0]) == bytes(key.certificate)
    identity = UserIdentity.objects.get(email="node@example.com")
    created = result["created"]
    assert created["status_code"] == 200
    assert created["user_id"] == created["user"]["user_id"] == identity.user_id
    assert (identity.external_id, identity.trusted_metadata, identity.name) == (
        "node-user",
        {"via": "node"},
        {"first_name": "Node"},
    )
    assert result["duplicate"] == {"status_code": 409, "error_type": "duplicate_email"}
    event = AuditEvent.objects.get(action="user_create")
    assert event.user_id == identity.user_id
    assert event.user_agent.startswith("Stytch Node v")


def test_node_sdk_authorization_checks_server_side_and_local(
    tls_live_server, ca_bundle, settings, api, profile_factory, signer, token_factory
):
    node = node_with("stytch")
    set_project_policy(POLICY)
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping=MAPPING,
        grantable_roles=["editor"],
    )
    acme = create_organization(name="Acme", slug="acme")
    other = create_organization(name="Other", slug="other")
    create_member(organization=acme, email="grace@example.com", roles=["reader"])
    consumer = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(roles=["editor"]),
            "session_duration_minutes": 60,
        },
        format="json",
    ).json()
    member = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(email="grace@example.com"),
            "organization_id": acme.organization_id,
        },
        format="json",
    ).json()
    billing = {"resource_id": "billing", "action": "view"}
    read, write = ({"resource_id": "documents", "action": action} for action in ("read", "write"))
    in_acme = {"organization_id": acme.organization_id}
    in_other = {"organization_id": other.organization_id}
    cases = []
    for local in (False, True):
        where = "local" if local else "server"
        for name, b2b, session, check in [
            ("consumer_allowed", False, consumer, write),
            ("consumer_denied", False, consumer, billing),
            ("b2b_allowed", True, member, {**in_acme, **read}),
            ("b2b_denied", True, member, {**in_acme, **write}),
            ("b2b_tenancy", True, member, {**in_other, **read}),
        ]:
            cases.append(
                {
                    "name": f"{where}_{name}",
                    "b2b": b2b,
                    "local": local,
                    "session_token": session["session_token"],
                    "session_jwt": session["session_jwt"],
                    "check": check,
                }
            )
    result = run_node(
        node,
        "rbac.js",
        ca_bundle,
        TA_BASE_URL=f"{tls_live_server.url}/",
        TA_PROJECT_ID=settings.TRUSTED_AUTH["PROJECT_ID"],
        TA_SECRET=create_secret("node rbac").clear_text,
        TA_CASES=json.dumps(cases),
    )
    assert result == {
        "server_consumer_allowed": "allowed",
        "server_consumer_denied": "consumer_session_authorization_error",
        "server_b2b_allowed": "allowed",
        "server_b2b_denied": "session_authorization_error",
        "server_b2b_tenancy": "session_authorization_tenancy_error",
        "local_consumer_allowed": "allowed",
        "local_consumer_denied": "invalid_permissions",
        "local_b2b_allowed": "allowed",
        "local_b2b_denied": "invalid_permissions",
        "local_b2b_tenancy": "tenancy_mismatch",
    }
