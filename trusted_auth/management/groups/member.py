"""``manage.py trusted_auth member create|list``: members of a B2B organization."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.identities import organizations
from trusted_auth.management.cli import CommandIO, add_action, group_actions


def create(options: dict[str, Any], io: CommandIO) -> None:
    member = organizations.create_member(
        organization=organizations.get_organization(options["organization"]),
        email=options["email"],
        name=options["name"],
        external_id=options["external_id"],
        roles=options["role"],
    )
    io.emit(organizations.member_as_dict(member))


def list_(options: dict[str, Any], io: CommandIO) -> None:
    organization = organizations.get_organization(options["organization"])
    io.emit([organizations.member_as_dict(m) for m in organizations.list_members(organization)])


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "member", help="members of a B2B organization")
    parser = add_action(actions, "create", create, help="add a member to an organization")
    parser.add_argument("--organization", required=True, metavar="ID_OR_SLUG")
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", default="")
    parser.add_argument("--external-id", default="")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE_ID",
        help="a role from TRUSTED_AUTH['ROLES'] (repeatable)",
    )
    parser = add_action(actions, "list", list_, help="list an organization's members")
    parser.add_argument("--organization", required=True, metavar="ID_OR_SLUG")
