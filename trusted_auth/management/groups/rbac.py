"""``manage.py trusted_auth rbac import|export|show``: the RBAC policy (roles and permissions)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError

from trusted_auth.identities.organizations import get_organization
from trusted_auth.management.cli import CommandIO, add_action, group_actions, read_input
from trusted_auth.rbac.policy import (
    organization_roles,
    project_policy,
    set_organization_policy,
    set_project_policy,
)


def _document(options: dict[str, Any], io: CommandIO) -> Any:
    data = read_input(options["file"], io, what="policy file")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise CommandError(f"policy file {options['file']} is not JSON: {e}") from e


def import_(options: dict[str, Any], io: CommandIO) -> None:
    """Replace the project policy (or an organization's roles) with the file, validated whole."""
    document = _document(options, io)
    if options["organization"]:
        organization = get_organization(options["organization"])
        roles = set_organization_policy(organization, document)
        io.note(f"{organization.organization_id}: {len(roles)} organization roles")
        io.emit({"org_policy": {"roles": roles}})
        return
    policy = set_project_policy(document)
    io.note(
        f"imported {len(policy['resources'])} resources, {len(policy['roles'])} roles, "
        f"{len(policy['scopes'])} scopes"
    )
    io.emit({"policy": project_policy()})


def export(options: dict[str, Any], io: CommandIO) -> None:
    """The policy as ``rbac import`` (and Stytch's dashboard export) reads it."""
    if options["organization"]:
        organization = get_organization(options["organization"])
        io.emit({"roles": organization_roles(organization.organization_id)})
    else:
        io.emit(project_policy())


def show(options: dict[str, Any], io: CommandIO) -> None:
    """Who may do what: each role's actions by resource, and each resource's actions."""
    policy = project_policy()
    roles = list(policy["roles"])
    if options["organization"]:
        roles += organization_roles(get_organization(options["organization"]).organization_id)
    io.emit(
        {
            "resources": {r["resource_id"]: r["actions"] for r in policy["resources"]},
            "roles": {
                role["role_id"]: {p["resource_id"]: p["actions"] for p in role["permissions"]}
                for role in roles
            },
            "scopes": {
                scope["scope"]: {p["resource_id"]: p["actions"] for p in scope["permissions"]}
                for scope in policy["scopes"]
            },
        }
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "rbac", help="the RBAC policy: resources, roles, scopes")
    organization_help = "an organization's own roles instead of the project policy"
    parser = add_action(
        actions,
        "import",
        import_,
        help="replace the policy with a JSON file (Stytch's policy shape); all or nothing",
        epilog="example:\n  manage.py trusted_auth rbac import policy.json",
    )
    parser.add_argument("file", metavar="FILE", help="the policy JSON, or - for stdin")
    parser.add_argument("--organization", metavar="ID_OR_SLUG", help=organization_help)
    parser = add_action(actions, "export", export, help="print the policy as JSON")
    parser.add_argument("--organization", metavar="ID_OR_SLUG", help=organization_help)
    parser = add_action(actions, "show", show, help="print each role's permissions")
    parser.add_argument(
        "--organization", metavar="ID_OR_SLUG", help="include this organization's roles"
    )
