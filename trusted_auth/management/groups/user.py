"""``manage.py trusted_auth user create|list``: consumer users (the service of ``/v1/users``)."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.identities import users
from trusted_auth.management.cli import CommandIO, add_action, group_actions


def create(options: dict[str, Any], io: CommandIO) -> None:
    name = {"first_name": options["name"]} if options["name"] else None
    identity = users.create_user(
        email=options["email"], name=name, external_id=options["external_id"]
    )
    io.emit(users.user_as_dict(identity))
    io.note(
        f"pre-provisioned {identity.user_id}: the first verified token for {identity.email} "
        "may claim it, as the profile's link policy allows"
    )


def list_(options: dict[str, Any], io: CommandIO) -> None:
    query = None
    if options["email"]:
        query = {
            "operator": "AND",
            "operands": [{"filter_name": "email_address", "filter_value": [options["email"]]}],
        }
    results: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = users.search_users(query=query, cursor=cursor, limit=1000)
        results.extend(users.user_as_dict(identity) for identity in page.results)
        cursor = page.next_cursor
        if cursor is None:
            break
    io.emit(results)


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "user", help="consumer users")
    parser = add_action(
        actions,
        "create",
        create,
        help="pre-provision a user (a Django user and its identity, no password)",
    )
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", default="", help="the first name")
    parser.add_argument("--external-id", default="", help="your own id for this user")
    parser = add_action(actions, "list", list_, help="list users (not deleted ones)")
    parser.add_argument("--email", default="", help="only the user with this email")
