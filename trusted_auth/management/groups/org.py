"""``manage.py trusted_auth org create|list``: B2B organizations."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.identities import organizations
from trusted_auth.management.cli import CommandIO, add_action, group_actions
from trusted_auth.models import Organization


def create(options: dict[str, Any], io: CommandIO) -> None:
    organization = organizations.create_organization(
        name=options["name"],
        slug=options["slug"] or "",
        external_id=options["external_id"] or "",
        email_allowed_domains=options["email_allowed_domain"],
    )
    io.emit(organizations.organization_as_dict(organization))


def list_(options: dict[str, Any], io: CommandIO) -> None:
    io.emit([organizations.organization_as_dict(o) for o in Organization.objects.all()])


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "org", help="B2B organizations")
    parser = add_action(actions, "create", create, help="create an organization")
    parser.add_argument("--name", required=True)
    parser.add_argument("--slug", help="URL-safe unique name (default: from --name)")
    parser.add_argument("--external-id", help="the id your IdP's organization claim carries")
    parser.add_argument(
        "--email-allowed-domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="JIT-provisioned members must have an email here (repeatable)",
    )
    add_action(actions, "list", list_, help="list organizations")
