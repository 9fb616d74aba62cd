"""The RBAC policy as an operator manages it: ``trusted_auth rbac import|export|show`` (validated
whole: a broken file changes nothing and names what is wrong), a profile's grantable roles, and
policy changes reaching every worker through the generation counter."""

from __future__ import annotations

import copy
import json

import pytest

from trusted_auth.identities.organizations import create_organization
from trusted_auth.internal import generations
from trusted_auth.models import AuditEvent, RbacPolicy
from trusted_auth.rbac.checks import granting_roles
from trusted_auth.rbac.policy import project_policy

from .test_authorization_check import POLICY
from .test_cli import run, run_failing

pytestmark = pytest.mark.django_db


def test_import_export_show_round_trip(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"policy": POLICY}))  # Stytch's GET /v1/rbac/policy body shape

    imported, note = run("rbac", "import", str(path))

    assert "2 resources, 3 roles" in note
    roles = {role["role_id"] for role in imported["policy"]["roles"]}
    assert roles == {"stytch_user", "stytch_admin", "stytch_member", "reader", "editor"}
    exported, _ = run("rbac", "export")
    path.write_text(json.dumps(exported))
    again, _ = run("rbac", "import", str(path))
    assert again["policy"] == exported
    shown, _ = run("rbac", "show")
    assert shown["roles"]["editor"] == {"documents": ["*"]}
    assert shown["resources"]["documents"] == ["read", "write", "delete"]
    assert AuditEvent.objects.filter(action="rbac_policy_set").count() == 2


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda p: p["roles"][0]["permissions"][0].update(resource_id="files"), "'files'"),
        (lambda p: p["roles"][1]["permissions"][0].update(actions=["share"]), "'share'"),
        (lambda p: p["resources"].append(dict(p["resources"][0])), "defined twice"),
        (lambda p: p["resources"][0].update(resource_id="stytch.member"), "reserved"),
        (lambda p: p["roles"][0].update(role_id=7), "role_id"),
    ],
)
def test_a_broken_policy_is_refused_whole(tmp_path, change, named):
    run("rbac", "import", "-", stdin=json.dumps(POLICY))
    broken = copy.deepcopy(POLICY)
    change(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))

    _, message = run_failing("rbac", "import", str(path))

    assert named in message
    assert RbacPolicy.objects.get().roles == POLICY["roles"]


def test_organization_roles_through_the_cli(tmp_path):
    run("rbac", "import", "-", stdin=json.dumps(POLICY))
    acme = create_organization(name="Acme", slug="acme")
    path = tmp_path / "org.json"
    role = {"role_id": "auditor", "description": "", "permissions": []}
    path.write_text(json.dumps({"roles": [role]}))

    run("rbac", "import", str(path), "--organization", "acme")

    assert run("rbac", "export", "--organization", "acme")[0] == {"roles": [role]}
    path.write_text(json.dumps({"roles": [{**role, "role_id": "editor"}]}))
    _, message = run_failing("rbac", "import", str(path), "--organization", "acme")
    assert "'editor'" in message and "project role" in message
    assert "auditor" in run("rbac", "show", "--organization", acme.organization_id)[0]["roles"]


def test_a_profile_grants_only_roles_the_policy_defines(signer, tmp_path):
    run("rbac", "import", "-", stdin=json.dumps(POLICY))
    pem = tmp_path / "key.pem"
    pem.write_text(signer.public_pem)
    base = ["profile", "create", "--name", "X", "--issuer", "https://idp.example"]
    base += ["--audience", "aud", "--pem-file", str(pem), "--map", "email=email", "token_id=jti"]

    created, _ = run(*base, "role_ids=assignments", "--grantable-role", "editor")
    assert created["grantable_roles"] == ["editor"]
    _, message = run_failing(*base, "--grantable-role", "root")
    assert "root" in message and "grantable_roles" in message


def test_a_policy_change_reaches_the_cached_copy_on_the_next_read():
    RbacPolicy.objects.create(**POLICY)
    assert granting_roles(["editor"], "documents", "delete") == ["editor"]
    before = generations.value(generations.RBAC)

    RbacPolicy.objects.update(roles=[])  # no signal: what another process's raw write does
    generations.bump(generations.RBAC)

    assert generations.value(generations.RBAC) == before + 1
    assert granting_roles(["editor"], "documents", "delete") == []
    assert {r["role_id"] for r in project_policy()["roles"]} == {
        "stytch_user",
        "stytch_member",
        "stytch_admin",
    }


def test_the_admin_edits_the_policy_as_a_permission_matrix(admin_client):
    from django.urls import reverse

    add = reverse("admin:trusted_auth_rbacpolicy_add")
    response = admin_client.post(
        add,
        {"resources_text": "documents: read, write", "roles_text": "editor: Edits"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RbacPolicy.objects.get().resources == [
        {"resource_id": "documents", "description": "", "actions": ["read", "write"]}
    ]
    change = reverse("admin:trusted_auth_rbacpolicy_change", args=["project"])
    page = admin_client.get(change).content.decode()
    assert 'name="role__editor"' in page and 'value="documents:write"' in page

    acme = create_organization(name="Acme", slug="acme")
    from trusted_auth.identities.organizations import create_member

    create_member(organization=acme, email="ed@acme.test", roles=["editor"])
    response = admin_client.post(
        change,
        {
            "resources_text": "documents: read, write",
            "roles_text": "editor: Edits",
            "role__editor": ["documents:write", "documents:read"],
            "role__stytch_member": ["documents:*"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert granting_roles(["editor"], "documents", "write") == ["editor"]
    assert granting_roles(["stytch_member"], "documents", "read") == ["stytch_member"]
    assert "ed@acme.test" in admin_client.get(change).content.decode()
    assert AuditEvent.objects.filter(action="rbac_policy_set").count() == 2

    response = admin_client.post(
        change, {"resources_text": "documents: read\ndocuments: write", "roles_text": ""}
    )
    assert response.status_code == 200 and "defined twice" in response.content.decode()
    assert granting_roles(["editor"], "documents", "write") == ["editor"]


def test_a_role_assignment_is_audited_and_signalled(api, django_capture_on_commit_callbacks):
    from trusted_auth import signals
    from trusted_auth.identities.organizations import create_member

    run("rbac", "import", "-", stdin=json.dumps(POLICY))
    acme = create_organization(name="Acme", slug="acme")
    member = create_member(organization=acme, email="ed@acme.test")
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.member_roles_changed.connect(receiver)
    try:
        url = f"/v1/b2b/organizations/{acme.organization_id}/members/{member.member_id}"
        with django_capture_on_commit_callbacks(execute=True):
            response = api.put(url, {"roles": ["editor"]}, format="json")
        assert response.status_code == 200, response.json()
        refused = api.put(url, {"roles": ["root"]}, format="json")
        assert refused.status_code == 400 and "root" in refused.json()["error_message"]
    finally:
        signals.member_roles_changed.disconnect(receiver)

    [sent] = received
    assert (sent["member"].roles, sent["previous_roles"]) == (["editor"], [])
    event = AuditEvent.objects.filter(action="member_update").latest("pk")
    assert event.error_message == "roles: editor"


def test_a_policy_import_sends_rbac_policy_changed(django_capture_on_commit_callbacks):
    from trusted_auth import signals

    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs))

    signals.rbac_policy_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run("rbac", "import", "-", stdin=json.dumps(POLICY))
    finally:
        signals.rbac_policy_changed.disconnect(receiver)

    [(sender, kwargs)] = received
    assert sender is RbacPolicy and kwargs["organization"] is None
    roles = [r["role_id"] for r in kwargs["policy"]["roles"]]
    assert roles == ["reader", "editor", "stytch_member"]
